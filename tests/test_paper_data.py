"""The paper's hub adapters, each on a small fixture in its hub layout (no network).

`datasets.load_dataset` is monkeypatched: it returns the fixture for the ids a test
serves and fails like an unreachable hub for every other id.
"""

from __future__ import annotations

import datasets
import pytest

from lcl_tui.config import DataConfig
from lcl_tui.data import list_datasets, load_splits
from lcl_tui.data.paper import (
    AG_NEWS_LABELS,
    ED_EMOTIONS,
    GOEMOTIONS_LABELS,
    PAPER_DATASETS,
    clean_ag_news,
    clean_ed_text,
    clean_tweet,
)
from lcl_tui.errors import DataError


@pytest.fixture
def hub(monkeypatch):
    """serve({(id, config): DatasetDict}) -> the list of (id, config) calls made."""
    calls = []

    def serve(served):
        def fake_load_dataset(path, name=None, **kwargs):
            calls.append((path, name))
            if (path, name) in served:
                return served[(path, name)]
            raise ConnectionError(f"cannot reach the hub for {path}")

        monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
        return calls

    return serve


def load(name: str, **config):
    return load_splits(DataConfig(dataset=name, **config))


def decoded(splits, split: str) -> list[tuple[str, str]]:
    part = getattr(splits, split)
    return sorted((text, splits.label_names[y]) for text, y in zip(part.texts, part.labels))


def test_every_paper_dataset_is_registered_as_hub():
    infos = {info.name: info for info in list_datasets()}
    for name, (_, _, num_labels, _) in PAPER_DATASETS.items():
        assert infos[name].source == "hub" and infos[name].num_labels == num_labels


def test_unreachable_hub_is_one_line_naming_every_id_tried(hub):
    hub({})
    with pytest.raises(DataError) as caught:
        load("ag-news")
    message = str(caught.value)
    assert "\n" not in message and "sh0416/ag_news" in message and "fancyzhx/ag_news" in message


# --- Empathetic Dialogues ---------------------------------------------------------------------


def ed_split(conversations: list[tuple[str, str, str]], utterances: int = 3) -> datasets.Dataset:
    """The hub's layout: one row per utterance, the prompt and context repeated on each."""
    rows = {"conv_id": [], "utterance_idx": [], "context": [], "prompt": [], "speaker_idx": [], "utterance": []}
    for conv_id, emotion, prompt in conversations:
        for index in range(utterances, 0, -1):  # out of order, as a shuffled mirror may be
            rows["conv_id"].append(conv_id)
            rows["utterance_idx"].append(index)
            rows["context"].append(emotion)
            rows["prompt"].append(prompt)
            rows["speaker_idx"].append(index % 2)
            rows["utterance"].append(f"utterance {index}_comma_ of {conv_id}")
    return datasets.Dataset.from_dict(rows)


def test_empathetic_dialogues_one_row_per_conversation_with_commas_restored(hub):
    train = [(f"hit:{i}_conv:{i}", ED_EMOTIONS[i % 32], f"I felt it_comma_ time {i}") for i in range(96)]
    train.append(("hit:x_conv:x", "bogus", "a misparsed line"))
    validation = [(f"hit:v{i}_conv:v{i}", ED_EMOTIONS[i % 32], f"valid {i}") for i in range(32)]
    test = [(f"hit:t{i}_conv:t{i}", ED_EMOTIONS[i % 32], f"test {i}") for i in range(32)]
    calls = hub({("aegrif/CIS6930_DAAGR_Empathetic_Dialogues", None): datasets.DatasetDict(
        train=ed_split(train), validation=ed_split(validation), test=ed_split(test))})
    splits = load("empathetic-dialogues")
    assert [c[0] for c in calls] == ["facebook/empathetic_dialogues", "empathetic_dialogues",
                                     "aegrif/CIS6930_DAAGR_Empathetic_Dialogues"]
    assert splits.label_names == ED_EMOTIONS and len(ED_EMOTIONS) == 32
    assert len(splits.train) == 96 and len(splits.validation) == 32 and len(splits.test) == 32
    assert ("I felt it, time 5", ED_EMOTIONS[5]) in decoded(splits, "train")
    assert not any("_comma_" in text for text in splits.train.texts)
    assert any("outside the 32" in warning for warning in splits.warnings)


# --- GoEmotions ------------------------------------------------------------------------------


def goemotions_split(rows: list[tuple[str, list[int]]]) -> datasets.Dataset:
    features = datasets.Features({
        "text": datasets.Value("string"),
        "labels": datasets.Sequence(datasets.ClassLabel(names=GOEMOTIONS_LABELS)),
        "id": datasets.Value("string"),
    })
    return datasets.Dataset.from_dict(
        {"text": [t for t, _ in rows], "labels": [ls for _, ls in rows], "id": [str(i) for i in range(len(rows))]},
        features=features)


NEUTRAL = GOEMOTIONS_LABELS.index("neutral")


def goemotions_rows(prefix: str) -> list[tuple[str, list[int]]]:
    rows = [(f"{prefix} single {k}", [k]) for k in range(27) for _ in range(2)]
    rows += [(f"{prefix} multi {k}", [k, (k + 1) % 27]) for k in range(27)]
    rows += [(f"{prefix} neutral {i}", [NEUTRAL]) for i in range(5)]
    return rows


@pytest.fixture
def goemotions(hub):
    return hub({("google-research-datasets/go_emotions", "simplified"): datasets.DatasetDict(
        train=goemotions_split(goemotions_rows("tr")), validation=goemotions_split(goemotions_rows("va")),
        test=goemotions_split(goemotions_rows("te")))})


def test_goemotions_first_keeps_every_comment_with_its_first_label(goemotions):
    splits = load("goemotions-first")
    assert goemotions == [("google-research-datasets/go_emotions", "simplified")]
    assert splits.label_names == GOEMOTIONS_LABELS and splits.num_labels == 28
    assert len(splits.test) == 27 * 3 + 5
    test = dict(decoded(splits, "test"))
    assert test["te multi 3"] == GOEMOTIONS_LABELS[3] and test["te neutral 0"] == "neutral"


def test_goemotions_single_drops_multi_label_and_neutral(goemotions):
    splits = load("goemotions-single")
    assert splits.num_labels == 27 and "neutral" not in splits.label_names
    assert len(splits.test) == 27 * 2
    assert not any("multi" in t or "neutral" in t for t in splits.train.texts + splits.test.texts)
    assert f"left out {3 * (27 + 5)} multi-label or neutral" in " ".join(splits.warnings)


# --- EmoInt and Twitter sentiment --------------------------------------------------------------


def test_clean_tweet_removes_urls_mentions_entities_and_hash_signs():
    assert clean_tweet("@bob I am #furious &amp; sad https://t.co/xyz www.x.com/a") == "I am furious & sad"
    assert clean_tweet("fish&amp;amp;chips email a@b.c") == "fish&chips email a@b.c"


def emoint_split(prefix: str, n: int) -> datasets.Dataset:
    emotions = ["anger", "fear", "joy", "sadness"]
    return datasets.Dataset.from_dict({
        "id": [str(i) for i in range(n)],
        "tweet": [f"@user{i} {prefix} tweet {i} #{emotions[i % 4]} http://t.co/{i} &amp; more" for i in range(n)],
        "class": [emotions[i % 4].capitalize() if i % 3 == 0 else emotions[i % 4] for i in range(n)],
        "sentiment_intensity": ["high"] * n,
    })


def test_emoint_cleans_tweets_and_names_four_emotions(hub):
    hub({("stepp1/tweet_emotion_intensity", None): datasets.DatasetDict(
        train=emoint_split("tr", 80), test=emoint_split("te", 40))})
    splits = load("emoint", validation_fraction=0.25)
    assert splits.label_names == ["anger", "fear", "joy", "sadness"]
    assert len(splits.test) == 40 and len(splits.train) + len(splits.validation) == 80
    assert ("te tweet 5 fear & more", "fear") in decoded(splits, "test")
    assert not any("@" in t or "http" in t or "#" in t or "&amp;" in t for t in splits.train.texts)


def test_twitter_sentiment_reads_feeling_as_binary_and_cleans(hub):
    def part(prefix, n):
        return datasets.Dataset.from_dict({"text": [f"@a {prefix} {i} #tag" for i in range(n)],
                                           "feeling": [i % 2 for i in range(n)]})
    hub({("carblacac/twitter-sentiment-analysis", None): datasets.DatasetDict(
        train=part("tr", 40), validation=part("va", 10), test=part("te", 10))})
    splits = load("twitter-sentiment")
    assert splits.label_names == ["negative", "positive"]
    assert ("te 3 tag", "positive") in decoded(splits, "test") and ("te 2 tag", "negative") in decoded(splits, "test")


# --- SST-5 and SST-2 ---------------------------------------------------------------------------


def test_sst5_ids_are_named_in_sentiment_order(hub):
    names = ["very negative", "negative", "neutral", "positive", "very positive"]

    def part(prefix, n):
        return datasets.Dataset.from_dict({"text": [f"{prefix} {i}" for i in range(n)], "label": [i % 5 for i in range(n)],
                                           "label_text": [names[i % 5] for i in range(n)]})
    hub({("SetFit/sst5", None): datasets.DatasetDict(train=part("tr", 50), validation=part("va", 10),
                                                     test=part("te", 20))})
    splits = load("sst-5")
    assert splits.label_names == names
    assert ("te 4", "very positive") in decoded(splits, "test") and ("te 0", "very negative") in decoded(splits, "test")


def test_sst2_glue_layout_carves_a_test_split_for_unlabelled_test(hub):
    features = datasets.Features({"idx": datasets.Value("int32"), "sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["negative", "positive"])})

    def part(prefix, n, labelled=True):
        return datasets.Dataset.from_dict({"idx": list(range(n)), "sentence": [f"{prefix} {i}" for i in range(n)],
                                           "label": [i % 2 if labelled else -1 for i in range(n)]}, features=features)
    calls = hub({("stanfordnlp/sst2", None): datasets.DatasetDict(
        train=part("tr", 100), validation=part("va", 20), test=part("te", 30, labelled=False))})
    splits = load("sst-2", test_fraction=0.2)
    assert calls[-1] == ("stanfordnlp/sst2", None)
    assert splits.label_names == ["negative", "positive"]
    assert len(splits.test) == 20 and all(t.startswith("tr ") for t in splits.test.texts)
    assert any("no labels" in w for w in splits.warnings)


def test_sst2_drops_neutral_rows(hub):
    hub({("SetFit/sst2", None): datasets.DatasetDict(train=datasets.Dataset.from_dict({
        "text": [f"s {i}" for i in range(30)],
        "label": [i % 3 for i in range(30)],
        "label_text": [["negative", "positive", "neutral"][i % 3] for i in range(30)],
    }).cast_column("label", datasets.ClassLabel(names=["negative", "positive", "neutral"])))})
    splits = load("sst-2")
    assert splits.label_names == ["negative", "positive"]
    everything = splits.train.texts + splits.validation.texts + splits.test.texts
    assert len(everything) == 20 and not any(int(t.split()[1]) % 3 == 2 for t in everything)
    assert any("neutral" in w for w in splits.warnings)


# --- ParsiNLU ------------------------------------------------------------------------------------


def parsinlu_split(prefix: str, n: int, labels=None) -> datasets.Dataset:
    labels = labels or [str(v) for v in range(-3, 4)]
    return datasets.Dataset.from_dict({
        "review": [f"نقد {prefix} {i}" for i in range(n)],
        "review_id": [str(i) for i in range(n)],
        "example_id": ["1"] * n,
        "excel_id": [f"{prefix}_{i}" for i in range(n)],
        "question": [f"نظر شما در مورد {i % 2}؟" for i in range(n)],
        "category": ["فیلم"] * n,
        "aspect": ["کلی"] * n,
        "label": [labels[i % len(labels)] for i in range(n)],
        "guid": [f"{prefix}-{i}" for i in range(n)],
    })


def test_parsinlu_trains_on_all_and_tests_on_movies(hub):
    hub({("persiannlp/parsinlu_sentiment", "parsinlu-repo"): datasets.DatasetDict(
        train=parsinlu_split("train", 70 + 1, labels=[str(v) for v in range(-3, 4)] + [""]),
        validation_food=parsinlu_split("vfood", 14), validation_movies=parsinlu_split("vmovie", 14),
        test_food=parsinlu_split("tfood", 21), test_movies=parsinlu_split("tmovie", 21))})
    splits = load("parsinlu-sentiment")
    assert splits.label_names == ["-3", "-2", "-1", "0", "1", "2", "3"]
    assert all("tmovie" in t for t in splits.test.texts) and len(splits.test) == 21
    assert all("vmovie" in t for t in splits.validation.texts)
    assert len(splits.train) == 71 - 8  # the rows with an empty label are dropped
    assert ("نقد tmovie 0 نظر شما در مورد 0؟", "-3") in decoded(splits, "test")


# --- AG News -------------------------------------------------------------------------------------


def test_clean_ag_news_restores_entities_and_line_breaks():
    assert clean_ag_news("Wall St.\\band it #39;s a quot;deal quot; &lt;b&gt;") == 'Wall St. band it \'s a "deal " <b>'


def test_ag_news_title_and_description_from_sh0416(hub):
    def part(prefix, n):
        return datasets.Dataset.from_dict({"label": [1 + i % 4 for i in range(n)],
                                           "title": [f"{prefix} title {i}" for i in range(n)],
                                           "description": [f"what #39;s new {i}" for i in range(n)]})
    hub({("sh0416/ag_news", None): datasets.DatasetDict(train=part("tr", 40), test=part("te", 20))})
    splits = load("ag-news")
    assert splits.label_names == AG_NEWS_LABELS
    assert ("te title 0 what 's new 0", "World") in decoded(splits, "test")
    assert ("te title 3 what 's new 3", "Sci/Tech") in decoded(splits, "test")


def test_ag_news_single_text_column_from_fancyzhx(hub):
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=AG_NEWS_LABELS)})

    def part(prefix, n):
        return datasets.Dataset.from_dict({"text": [f"{prefix} story {i}" for i in range(n)],
                                           "label": [i % 4 for i in range(n)]}, features=features)
    calls = hub({("fancyzhx/ag_news", None): datasets.DatasetDict(train=part("tr", 40), test=part("te", 20))})
    splits = load("ag-news")
    assert calls == [("sh0416/ag_news", None), ("fancyzhx/ag_news", None)]
    assert ("te story 2", "Business") in decoded(splits, "test")


def test_clean_ed_text():
    assert clean_ed_text("I was scared_comma_ really  scared") == "I was scared, really scared"


# --- presets for every cell of the paper's Tables 1 and 2 -----------------------------------------

BERT, ELECTRA, MBERT = "bert-base-uncased", "google/electra-base-discriminator", "bert-base-multilingual-cased"
TABLE_1 = {"ed": "empathetic-dialogues", "goemotions": "goemotions-first", "emoint": "emoint",
           "sst5": "sst-5", "sst2": "sst-2"}
TABLE_1_ROWS = [("bert", BERT, "ce"), ("electra", ELECTRA, "ce"), ("electra", ELECTRA, "scl"),
                ("electra", ELECTRA, "lcl")]
TABLE_2 = {"agnews": "ag-news", "twitter": "twitter-sentiment"}
TABLE_2_ROWS = [("bert", BERT, "ce"), ("electra", ELECTRA, "lcl")]


def paper_cells() -> list[tuple[str, str, str, str]]:
    """(preset, dataset, model, objective) for every cell of Tables 1 and 2."""
    cells = [(f"paper-{short}-{key}-{objective}", dataset, model, objective)
             for short, dataset in TABLE_1.items() for key, model, objective in TABLE_1_ROWS]
    cells += [(f"paper-{short}-{key}-{objective}", dataset, model, objective)
              for short, dataset in TABLE_2.items() for key, model, objective in TABLE_2_ROWS]
    # ParsiNLU: mBERT in both rows ("We used mBERT to train the Persian dataset").
    cells += [("paper-parsinlu-mbert-ce", "parsinlu-sentiment", MBERT, "ce"),
              ("paper-parsinlu-mbert-lcl", "parsinlu-sentiment", MBERT, "lcl")]
    return cells


def test_every_table_cell_has_a_preset_with_the_papers_hyperparameters():
    from lcl_tui.config import list_presets

    presets = dict(list_presets())
    for name, dataset, model, objective in paper_cells():
        assert name in presets, f"no preset for {name}"
        config = presets[name]
        assert (config.data.dataset, config.model.name, config.loss.objective) == (dataset, model, objective)
        assert (config.optim.lr, config.optim.weight_decay, config.train.epochs, config.train.batch_size) == \
            (2e-5, 0.01, 5, 10)
        assert config.loss.alpha == (0.1 if dataset.startswith("goemotions") else 0.5)
        assert config.loss.temperature == (0.1 if dataset == "sst-5" else 0.3)
        if objective != "ce":
            assert config.train.views == "dropout"
        if objective == "lcl":
            assert config.model.weighting == "separate"


def test_presets_validate_have_unique_names_and_resolve_by_name():
    from lcl_tui.config import list_presets, load_config, preset_paths

    stems = [path.stem for path in preset_paths()]
    assert len(stems) == len(set(stems)), "two preset files share a name"
    presets = list_presets()  # loading validates every preset
    for name, config in presets:
        assert config.name == name
    assert load_config("paper-ed-electra-lcl").data.dataset == "empathetic-dialogues"
    baselines = {name: config.model.architecture for name, config in presets if name.endswith(("-rnn", "-gru"))}
    assert {"paper-ed-rnn", "paper-ed-gru", "trec-50-rnn", "trec-50-gru",
            "movie-snippets-5-rnn", "movie-snippets-5-gru"} <= set(baselines)
    assert all(arch == name.rsplit("-", 1)[1] for name, arch in baselines.items())


def test_paper_presets_are_listed_by_the_cli():
    from typer.testing import CliRunner

    from lcl_tui.cli import app

    result = CliRunner().invoke(app, ["presets"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for name, *_ in paper_cells():
        assert name in result.output

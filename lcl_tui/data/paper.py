"""The paper's datasets from the Hugging Face hub, each with its quirks handled.

Registered on `import lcl_tui.data` (source "hub"), so `data.dataset = "empathetic-dialogues"`
works wherever the hub is reachable. Each adapter tries its hub ids in order (the
canonical id first, then current mirrors) and reads whichever layout it gets:

* `empathetic-dialogues`: the situation `prompt`, labelled by the `context` emotion (32);
  the hub has one row per utterance, so one row per `conv_id` is kept; `_comma_` -> `,`.
* `goemotions-first` / `goemotions-single`: the `simplified` config, 27 emotions + neutral.
  `first` keeps every comment with its first label (the seed paper, 28 classes);
  `single` keeps comments with exactly one label, neutral dropped (Suresh & Ong, 27).
* `emoint`: WASSA-2017 EmoInt tweets (anger, fear, joy, sadness), tweets cleaned.
* `sst-5`, `sst-2`: SST sentences; SST-2 drops any neutral row and carves a test split
  when the hub's test labels are all -1 (GLUE).
* `twitter-sentiment`: binary tweet sentiment, tweets cleaned.
* `parsinlu-sentiment`: Persian aspect sentiment, -3..+3 (review + aspect question);
  trains on all of train, validates and tests on the movie part.
* `ag-news`: title + description (from separate columns, or the joined `text`), 4 topics.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from lcl_tui.data.hub import _fetch
from lcl_tui.data.registry import register_dataset
from lcl_tui.data.splits import SourceData, TextExamples
from lcl_tui.errors import DataError

# (text, label name or None to drop the row)
Rows = list[tuple[str, str | None]]

ED_EMOTIONS = [
    "afraid", "angry", "annoyed", "anticipating", "anxious", "apprehensive", "ashamed", "caring",
    "confident", "content", "devastated", "disappointed", "disgusted", "embarrassed", "excited",
    "faithful", "furious", "grateful", "guilty", "hopeful", "impressed", "jealous", "joyful",
    "lonely", "nostalgic", "prepared", "proud", "sad", "sentimental", "surprised", "terrified",
    "trusting",
]
GOEMOTIONS_LABELS = [
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity",
    "desire", "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear",
    "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride", "realization", "relief",
    "remorse", "sadness", "surprise", "neutral",
]
EMOINT_LABELS = ["anger", "fear", "joy", "sadness"]
SST5_LABELS = ["very negative", "negative", "neutral", "positive", "very positive"]
BINARY_SENTIMENT = ["negative", "positive"]
PARSINLU_LABELS = ["-3", "-2", "-1", "0", "1", "2", "3"]
AG_NEWS_LABELS = ["World", "Sports", "Business", "Sci/Tech"]

# (hub id, hub config) in the order tried.
ED_IDS = [("facebook/empathetic_dialogues", None), ("empathetic_dialogues", None),
          ("aegrif/CIS6930_DAAGR_Empathetic_Dialogues", None)]
GOEMOTIONS_IDS = [("google-research-datasets/go_emotions", "simplified"), ("go_emotions", "simplified")]
EMOINT_IDS = [("stepp1/tweet_emotion_intensity", None)]
SST5_IDS = [("SetFit/sst5", None)]
SST2_IDS = [("SetFit/sst2", None), ("stanfordnlp/sst2", None), ("glue", "sst2")]
TWITTER_IDS = [("carblacac/twitter-sentiment-analysis", None)]
PARSINLU_IDS = [("persiannlp/parsinlu_sentiment", "parsinlu-repo")]
AG_NEWS_IDS = [("sh0416/ag_news", None), ("fancyzhx/ag_news", None), ("ag_news", None)]

VALIDATION_NAMES = ("validation", "valid", "val", "dev")


# --- fetching and reading ----------------------------------------------------------------------


def fetch_first(candidates: Sequence[tuple[str, str | None]], name: str) -> tuple[str, dict[str, Any]]:
    """The splits of the first hub id that loads; one DataError naming them all if none does."""
    errors = []
    for dataset_id, hub_config in candidates:
        try:
            return dataset_id, _fetch(dataset_id, hub_config)
        except DataError as error:
            errors.append(str(error))
    tried = ", ".join(dataset_id for dataset_id, _ in candidates)
    detail = errors[-1] if errors else "no ids"
    raise DataError(f"'{name}' needs the Hugging Face hub (tried {tried}); last: {detail}")


def columns_of(dataset: Any) -> dict[str, list]:
    return {column: list(values) for column, values in dataset.to_dict().items()}


def class_names(dataset: Any, column: str) -> list[str] | None:
    """A ClassLabel column's names (also inside a list feature, as GoEmotions' `labels`)."""
    feature = dataset.features.get(column)
    feature = getattr(feature, "feature", feature)  # Sequence(ClassLabel) / List(ClassLabel)
    names = getattr(feature, "names", None)
    return list(names) if names else None


def pick_column(columns: dict[str, list], candidates: Sequence[str], what: str, where: str) -> str:
    for candidate in candidates:
        if candidate in columns:
            return candidate
    lowered = {c.lower(): c for c in columns}
    for candidate in candidates:
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    raise DataError(f"{where} has no {what} column (looked for {', '.join(candidates)}; it has "
                    f"{', '.join(columns)}); the hub layout changed: use a local file instead")


def split_of(splits: dict[str, Any], role: str) -> str | None:
    """The hub's name for the train, validation or test split, if it has one."""
    names = {"train": ("train",), "validation": VALIDATION_NAMES, "test": ("test",)}[role]
    return next((name for name in names if name in splits), None)


def hub_splits(splits: dict[str, Any], dataset_id: str) -> Iterator[tuple[str, Any, str]]:
    """(role, split, where) for each of train, validation and test the hub gives."""
    for role in ("train", "validation", "test"):
        split = split_of(splits, role)
        if split is not None:
            yield role, splits[split], f"'{dataset_id}' {split} split"


def build_source(name: str, label_names: list[str], parts: dict[str, Rows],
                 warnings: list[str] | None = None) -> SourceData:
    """Rows of (text, label name) per split -> SourceData with the fixed label order.

    Rows with an empty text or no label are dropped and counted; a split with no labels
    at all (an unlabelled hub test set) is dropped so that it is carved from train.
    """
    warnings = list(warnings or [])
    ids = {label: i for i, label in enumerate(label_names)}
    examples: dict[str, TextExamples] = {}
    for split, rows in parts.items():
        if split != "train" and rows and all(label is None for _, label in rows):
            warnings.append(f"'{name}' {split} split has no labels; carved a {split} split from train instead")
            continue
        texts, labels, dropped = [], [], 0
        for text, label in rows:
            text = " ".join(text.split())
            if not text or label is None:
                dropped += 1
                continue
            if label not in ids:
                raise DataError(f"'{name}' {split} has label {label!r}, not one of its {len(label_names)} "
                                f"classes; the hub data changed: use a local file instead")
            texts.append(text)
            labels.append(ids[label])
        if dropped:
            warnings.append(f"'{name}': dropped {dropped} {split} row(s) without text or label")
        examples[split] = TextExamples(texts, labels)
    if "train" not in examples or not len(examples["train"]):
        raise DataError(f"'{name}' has no training rows after cleaning; the hub data changed: use a local file")
    return SourceData(name=name, label_names=list(label_names), train=examples["train"],
                      validation=examples.get("validation"), test=examples.get("test"), warnings=warnings)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# --- cleaning ------------------------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_NUMERIC_ENTITY = re.compile(r"(?<![&\w])#(\d+);")


def clean_tweet(text: str) -> str:
    """URLs and @mentions out, HTML entities (`&amp;`) decoded, `#` dropped from hashtags."""
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = html.unescape(html.unescape(text))  # some tweets are escaped twice (`&amp;amp;`)
    text = text.replace("#", " ")
    return " ".join(text.split())


def clean_ed_text(text: str) -> str:
    """Empathetic Dialogues escapes commas in its CSV as `_comma_`."""
    return " ".join(text.replace("_comma_", ",").split())


def clean_ag_news(text: str) -> str:
    """AG News keeps `\\` for line breaks and entities without their `&` (`#39;`, `quot;`)."""
    text = text.replace("\\", " ")
    text = _NUMERIC_ENTITY.sub(r"&#\1;", text)
    text = re.sub(r"(?<![&\w])(quot|amp|lt|gt);", r"&\1;", text)
    return " ".join(html.unescape(text).split())


# --- the adapters ---------------------------------------------------------------------------------


def load_empathetic_dialogues(config=None) -> SourceData:
    name = "empathetic-dialogues"
    dataset_id, splits = fetch_first(ED_IDS, name)
    known = set(ED_EMOTIONS)
    parts: dict[str, Rows] = {}
    unknown = 0
    for role, split, where in hub_splits(splits, dataset_id):
        columns = columns_of(split)
        conv = pick_column(columns, ["conv_id"], "conversation id", where)
        prompt = pick_column(columns, ["prompt"], "situation", where)
        emotion = pick_column(columns, ["context", "emotion"], "emotion", where)
        order = (columns["utterance_idx"] if "utterance_idx" in columns
                 else list(range(len(columns[conv]))))
        first: dict[str, tuple[Any, str, str]] = {}
        for conv_id, index, situation, label in zip(columns[conv], order, columns[prompt], columns[emotion]):
            # The hub repeats the conversation's prompt and emotion on every utterance.
            kept = first.get(conv_id)
            if kept is None or (index is not None and kept[0] is not None and index < kept[0]):
                first[conv_id] = (index, _text(situation), _text(label).strip().lower())
        rows: Rows = []
        for _, situation, label in first.values():
            if label not in known:
                unknown += 1
                continue
            rows.append((clean_ed_text(situation), label))
        parts[role] = rows
    if "train" not in parts:
        raise DataError(f"'{dataset_id}' has no train split (splits: {', '.join(splits)}); use a local file")
    warnings = [f"'{name}': dropped {unknown} conversation(s) with an emotion outside the 32"] if unknown else []
    return build_source(name, ED_EMOTIONS, parts, warnings)


def _goemotions(mode: str) -> SourceData:
    name = f"goemotions-{mode}"
    dataset_id, splits = fetch_first(GOEMOTIONS_IDS, name)
    train_split = split_of(splits, "train")
    if train_split is None:
        raise DataError(f"'{dataset_id}' has no train split; use a local file")
    names = class_names(splits[train_split], "labels") or GOEMOTIONS_LABELS
    if "neutral" not in names:
        raise DataError(f"'{dataset_id}' labels have no 'neutral' ({len(names)} names); the hub layout changed")
    label_names = names if mode == "first" else [n for n in names if n != "neutral"]
    parts: dict[str, Rows] = {}
    left_out = 0
    for role, split, where in hub_splits(splits, dataset_id):
        columns = columns_of(split)
        text_col = pick_column(columns, ["text"], "text", where)
        labels_col = pick_column(columns, ["labels", "label"], "labels", where)
        rows: Rows = []
        for text, ids in zip(columns[text_col], columns[labels_col]):
            ids = ids if isinstance(ids, list) else [ids]
            if mode == "first":
                label = names[ids[0]] if ids else None
            else:  # the original: single-label comments only, neutral left out
                label = names[ids[0]] if len(ids) == 1 and names[ids[0]] != "neutral" else None
            if label is not None or mode == "first":
                rows.append((_text(text), label))
            else:
                left_out += 1
        parts[role] = rows
    warnings = [f"'{name}': left out {left_out} multi-label or neutral comment(s)"] if left_out else []
    return build_source(name, label_names, parts, warnings)


def load_goemotions_first(config=None) -> SourceData:
    return _goemotions("first")


def load_goemotions_single(config=None) -> SourceData:
    return _goemotions("single")


def _labelled_rows(dataset: Any, where: str, text_candidates: Sequence[str], label_candidates: Sequence[str],
                   label_names: Sequence[str], clean: Callable[[str], str] | None = None,
                   aliases: dict[str, str] | None = None) -> Rows:
    """Text and label from a split whose label is a ClassLabel, an int id or a name.

    Int ids follow the ClassLabel's names when there are some, else `label_names`;
    -1 (no label) gives None. Names are matched case-blind, through `aliases` first.
    """
    columns = columns_of(dataset)
    text_col = pick_column(columns, text_candidates, "text", where)
    label_col = pick_column(columns, label_candidates, "label", where)
    by_id = class_names(dataset, label_col) or list(label_names)
    canonical = {n.lower(): n for n in label_names}
    aliases = {k.lower(): v for k, v in (aliases or {}).items()}
    rows: Rows = []
    for text, value in zip(columns[text_col], columns[label_col]):
        label: str | None
        if value is None or (isinstance(value, int) and value < 0):
            label = None
        elif isinstance(value, int) and not isinstance(value, bool):
            if value >= len(by_id):
                raise DataError(f"{where} has label id {value}, beyond its {len(by_id)} classes; "
                                f"the hub layout changed: use a local file instead")
            label = by_id[value]
        else:
            label = str(value).strip()
        if label is not None:
            key = aliases.get(label.lower(), label).lower()
            label = canonical.get(key, label)
        text = _text(text)
        rows.append((clean(text) if clean else text, label))
    return rows


def _simple(name: str, ids: Sequence[tuple[str, str | None]], label_names: list[str],
            text_candidates: Sequence[str], label_candidates: Sequence[str],
            clean: Callable[[str], str] | None = None, aliases: dict[str, str] | None = None,
            drop: Sequence[str] = ()) -> SourceData:
    dataset_id, splits = fetch_first(ids, name)
    parts: dict[str, Rows] = {}
    dropped = 0
    for role, split, where in hub_splits(splits, dataset_id):
        rows = _labelled_rows(split, where, text_candidates,
                              label_candidates, label_names, clean, aliases)
        kept = [(text, label) for text, label in rows if label not in drop]
        dropped += len(rows) - len(kept)
        parts[role] = kept
    if "train" not in parts:
        raise DataError(f"'{dataset_id}' has no train split (splits: {', '.join(splits)}); use a local file")
    warnings = [f"'{name}': dropped {dropped} row(s) labelled {' or '.join(drop)}"] if dropped else []
    return build_source(name, label_names, parts, warnings)


def load_emoint(config=None) -> SourceData:
    return _simple("emoint", EMOINT_IDS, EMOINT_LABELS, ["tweet", "text", "Tweet"],
                   ["class", "emotion", "affect dimension", "label"], clean=clean_tweet)


def load_sst5(config=None) -> SourceData:
    return _simple("sst-5", SST5_IDS, SST5_LABELS, ["text", "sentence"], ["label"])


def load_sst2(config=None) -> SourceData:
    return _simple("sst-2", SST2_IDS, BINARY_SENTIMENT, ["text", "sentence"], ["label"], drop=["neutral"])


def load_twitter_sentiment(config=None) -> SourceData:
    return _simple("twitter-sentiment", TWITTER_IDS, BINARY_SENTIMENT, ["text", "tweet"],
                   ["feeling", "label", "sentiment"], clean=clean_tweet,
                   aliases={"0": "negative", "1": "positive"})


def load_parsinlu_sentiment(config=None) -> SourceData:
    name = "parsinlu-sentiment"
    dataset_id, splits = fetch_first(PARSINLU_IDS, name)
    # The movie part is what the paper tests on; train keeps both domains.
    roles = {"train": ["train"], "validation": ["validation_movies", "validation_movie"],
             "test": ["test_movies", "test_movie"]}
    parts: dict[str, Rows] = {}
    for role, candidates in roles.items():
        split = next((c for c in candidates if c in splits), None)
        if split is None:
            if role == "train":
                raise DataError(f"'{dataset_id}' has no train split (splits: {', '.join(splits)}); use a local file")
            continue
        where = f"'{dataset_id}' {split} split"
        columns = columns_of(splits[split])
        review = pick_column(columns, ["review", "text"], "review", where)
        label_col = pick_column(columns, ["label"], "label", where)
        question = columns.get("question") or [None] * len(columns[review])
        rows: Rows = []
        for text, aspect_question, value in zip(columns[review], question, columns[label_col]):
            label = _parsinlu_label(value)
            # A review carries one label per aspect: the aspect question tells them apart.
            rows.append((" ".join(part for part in (_text(text), _text(aspect_question)) if part), label))
        parts[role] = rows
    return build_source(name, PARSINLU_LABELS, parts)


def _parsinlu_label(value: Any) -> str | None:
    text = _text(value).strip()
    if not text:
        return None
    try:
        number = int(float(text))
    except ValueError:
        return text  # reported as outside the classes by build_source
    return str(number)


def load_ag_news(config=None) -> SourceData:
    name = "ag-news"
    dataset_id, splits = fetch_first(AG_NEWS_IDS, name)
    parts: dict[str, Rows] = {}
    for role, dataset, where in hub_splits(splits, dataset_id):
        columns = columns_of(dataset)
        label_col = pick_column(columns, ["label", "class"], "label", where)
        if "title" in columns and "description" in columns:  # sh0416/ag_news: 1..4, two columns
            texts = [f"{_text(t)} {_text(d)}" for t, d in zip(columns["title"], columns["description"])]
        else:  # fancyzhx/ag_news: one joined `text`, ClassLabel 0..3
            texts = [_text(t) for t in columns[pick_column(columns, ["text"], "text", where)]]
        names = class_names(dataset, label_col)
        values = columns[label_col]
        if names is None and values and min(v for v in values if v is not None) >= 1:
            values = [v - 1 if v is not None else None for v in values]  # the original CSV counts from 1
        rows: Rows = []
        for text, value in zip(texts, values):
            if value is None or not 0 <= value < len(AG_NEWS_LABELS):
                rows.append((text, None))
                continue
            label = names[value] if names else AG_NEWS_LABELS[value]
            rows.append((clean_ag_news(text), label))
        parts[role] = rows
    if "train" not in parts:
        raise DataError(f"'{dataset_id}' has no train split (splits: {', '.join(splits)}); use a local file")
    return build_source(name, AG_NEWS_LABELS, parts)


# name: (loader, description, num_labels, size in rows where known)
PAPER_DATASETS: dict[str, tuple[Callable[..., SourceData], str, int, int | None]] = {
    "empathetic-dialogues": (load_empathetic_dialogues,
                             "Empathetic Dialogues situations, 32 emotions, one row per conversation", 32, 24850),
    "goemotions-first": (load_goemotions_first,
                         "GoEmotions Reddit comments, first label kept (as the seed), 27 emotions + neutral",
                         28, 54263),
    "goemotions-single": (load_goemotions_single,
                          "GoEmotions single-label comments without neutral (as Suresh & Ong), 27 emotions",
                          27, None),
    "emoint": (load_emoint, "EmoInt (WASSA-2017) tweets: anger, fear, joy, sadness; tweets cleaned", 4, 7102),
    "sst-5": (load_sst5, "Stanford Sentiment Treebank sentences, 5 classes (SetFit/sst5)", 5, 11855),
    "sst-2": (load_sst2, "Stanford Sentiment Treebank sentences, binary, neutral dropped", 2, 9613),
    "twitter-sentiment": (load_twitter_sentiment, "Tweets, negative/positive; tweets cleaned", 2, None),
    "parsinlu-sentiment": (load_parsinlu_sentiment,
                           "ParsiNLU Persian aspect sentiment -3..+3; tested on the movie part", 7, None),
    "ag-news": (load_ag_news, "AG News title + description, 4 topics", 4, 127600),
}


def register_paper_datasets() -> None:
    for name, (loader, description, num_labels, size) in PAPER_DATASETS.items():
        register_dataset(name, loader, description=description, num_labels=num_labels, size=size, source="hub")


register_paper_datasets()

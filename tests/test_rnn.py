"""The RNN and GRU baselines: preprocessing, vocabulary tokenizer, training, checkpoints."""

from __future__ import annotations

import pytest
import torch

from lcl_tui.predict import Predictor
from lcl_tui.rnn import PAD, UNK, RecurrentBackbone, VocabularyTokenizer, preprocess
from lcl_tui.training import train


def test_preprocess_lowercases_keeps_letters_and_digits_and_drops_stop_words():
    assert preprocess("Hello, World! It's 2024 -- the END.") == ["hello", "world", "2024", "end"]
    assert preprocess("  The and of  ") == []
    assert preprocess("naïve café") == ["na", "ve", "caf"]  # only a-z survive, as the seed's filter


def test_vocabulary_by_frequency_then_alphabet_with_pad_and_unk_first():
    tokenizer = VocabularyTokenizer.build(["b a c", "c b", "c zebra", "apple"], max_size=5)
    # "a" is a stop word; c x3, b x2, then apple and zebra (x1) alphabetically, capped at 5.
    assert tokenizer.vocabulary == [PAD, UNK, "c", "b", "apple"]
    assert tokenizer.pad_token_id == 0 and tokenizer.unk_token_id == 1 and len(tokenizer) == 5
    assert tokenizer.encode("C, b... zebra!") == [2, 3, 1]
    assert tokenizer.encode("the of") == [1]  # nothing left: one [UNK] so no text is empty
    assert tokenizer.encode("c c c c", max_length=2) == [2, 2]


def test_tokenizer_speaks_the_hugging_face_call_interface():
    tokenizer = VocabularyTokenizer.build(["good movie", "bad movie"], max_size=100)
    encoded = tokenizer(["good movie", "bad bad bad bad"], truncation=True, max_length=3,
                        return_special_tokens_mask=True)
    assert [len(ids) for ids in encoded["input_ids"]] == [2, 3]
    assert encoded["attention_mask"] == [[1, 1], [1, 1, 1]]
    assert encoded["special_tokens_mask"] == [[0, 0], [0, 0, 0]]
    assert "special_tokens_mask" not in tokenizer(["good"])


def test_tokenizer_round_trips_through_a_folder(tmp_path):
    texts = ["The film was wonderful", "A dull, dull story", "Wonderful acting; dull plot"]
    tokenizer = VocabularyTokenizer.build(texts, max_size=100)
    tokenizer.save_pretrained(tmp_path)
    loaded = VocabularyTokenizer.from_pretrained(tmp_path)
    assert loaded.vocabulary == tokenizer.vocabulary
    probe = ["wonderful dull story", "never seen words", "Film PLOT"]
    assert loaded(probe)["input_ids"] == tokenizer(probe)["input_ids"]


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_padding_does_not_change_a_texts_vector(cell):
    torch.manual_seed(0)
    backbone = RecurrentBackbone(cell, vocab_size=20, embedding_dim=8, hidden_size=6).eval()
    short = torch.tensor([[5, 6, 7]])
    alone = backbone({"input_ids": short, "attention_mask": torch.ones_like(short)})
    batch = {"input_ids": torch.tensor([[5, 6, 7, 0, 0], [3, 4, 5, 6, 7]]),
             "attention_mask": torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])}
    together = backbone(batch)
    assert together.shape == (2, 6) and backbone.hidden_size == 6
    assert torch.allclose(alone[0], together[0], atol=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_baseline_learns_the_synthetic_task_and_predicts_from_its_checkpoint(tiny, cell):
    config = tiny(model__architecture=cell, model__embedding_dim=32, model__hidden_size=32,
                  loss__objective="ce", train__sampler="random", optim__lr=1e-2, train__epochs=8)
    result = train(config)
    assert result.status == "completed", result.error
    assert result.test.accuracy > 0.6  # four classes: chance is 0.25

    predictor = Predictor.from_run(result.run)
    assert predictor.label_names == sorted(["joy", "anger", "fear", "sadness"])
    assert (result.run.best_checkpoint / "vocab.json").is_file()
    ranked = predictor.predict(["it was a very happy day", "so scared of the story", "the film was sad"], top_k=4)
    assert all(abs(sum(p for _, p in row) - 1) < 1e-4 for row in ranked)
    assert [row[0][0] for row in ranked] == ["joy", "fear", "sadness"]
    # The reloaded model gives what the trainer's model gave on the test split.
    split = result.run.load_split()
    predicted = [row[0][0] for row in predictor.predict(split.test.texts, top_k=1)]
    truth = [split.label_names[y] for y in split.test.labels]
    accuracy = sum(p == t for p, t in zip(predicted, truth)) / len(truth)
    assert accuracy == pytest.approx(result.test.accuracy)


def test_gru_with_lcl_and_a_separate_weighting_network_round_trips(tiny):
    config = tiny(model__architecture="gru", model__embedding_dim=16, model__hidden_size=16,
                  model__weighting="separate", loss__objective="lcl", train__epochs=2)
    result = train(config)
    assert result.status == "completed", result.error
    from safetensors.torch import load_file

    predictor = Predictor.from_run(result.run)
    saved = load_file(str(result.run.best_checkpoint / "model.safetensors"))
    loaded = predictor.model.weighting_backbone.state_dict()
    assert loaded and all(torch.equal(value, saved[f"weighting_backbone.{name}"]) for name, value in loaded.items())
    # Two networks, trained apart: the weighting GRU is not a copy of the classifier's.
    assert not torch.equal(saved["weighting_backbone.rnn.weight_hh_l0"], saved["backbone.rnn.weight_hh_l0"])

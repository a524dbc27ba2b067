from __future__ import annotations

import numpy
import pytest

from htcgen.encoder import EncoderConfig, EncoderHierarchyClassifier, balanced_weights
from htcgen.evaluate import evaluate_classifier, mix_augmented

from .conftest import TAXONOMY
from .conftest import topic_documents as _documents


def _cross_entropy(classifier, documents) -> float:
    """Mean over documents of the summed per-level cross-entropy of the classifier's probabilities."""
    targets = classifier.coding.indices(documents)
    probabilities = classifier.level_probabilities([d["text"] for d in documents])
    rows = numpy.arange(len(documents))
    return float(-sum(numpy.log(level[rows, targets[:, i]]).mean() for i, level in enumerate(probabilities)))


def _prior_cross_entropy(documents) -> float:
    """The same loss for a model that predicts each level's class frequencies: what a model that learns nothing
    from the text reaches at best."""
    total = 0.0
    for level in range(2):
        counts = numpy.unique([d["labels"][level] for d in documents], return_counts=True)[1]
        shares = counts / counts.sum()
        total += float(-(shares * numpy.log(shares)).sum())
    return total


@pytest.fixture(scope="module")
def trained(tiny_bert):
    documents = _documents(per_path=3)  # three documents per leaf: the low-resource setting in miniature
    config = EncoderConfig(model=tiny_bert, epochs=1, min_steps=60, batch_size=4, learning_rate=1e-3, max_length=32)
    return EncoderHierarchyClassifier(TAXONOMY, config).fit(documents, dev=_documents(per_path=2)), documents


def test_encoder_loss_falls_below_the_priors_loss_on_a_small_learnable_set(trained):
    classifier, documents = trained
    held_out = _documents(per_path=12)[1::4]
    assert len(classifier.loss_history) >= 5  # min_steps, not the single epoch, set the length of training
    assert classifier.loss_history[-1] < 0.5 * classifier.loss_history[0]
    assert _cross_entropy(classifier, held_out) < 0.5 * _prior_cross_entropy(documents)
    predicted = classifier.predict([d["text"] for d in held_out])
    assert sum(p == d["labels"] for p, d in zip(predicted, held_out, strict=True)) / len(held_out) >= 0.9
    assert set(classifier.labels) == {"Sports", "Science", "Football", "Tennis", "Physics", "Biology"}
    assert len(classifier.dev_history) >= 5 and max(classifier.dev_history) > 0.9


def test_encoder_save_and_load_give_the_same_predictions(trained, tmp_path):
    classifier, _ = trained
    texts = ["striker goal penalty", "quantum particle", "cell gene", "racket ace"]
    classifier.save_pretrained(tmp_path / "saved")
    loaded = EncoderHierarchyClassifier.from_pretrained(tmp_path / "saved")
    assert loaded.labels == classifier.labels
    assert numpy.allclose(loaded.predict_proba(texts), classifier.predict_proba(texts), atol=1e-5)
    assert loaded.predict(texts) == classifier.predict(texts)
    with pytest.raises(FileNotFoundError, match=r"htcgen_classifier\.json"):
        EncoderHierarchyClassifier.from_pretrained(tmp_path)


def test_balanced_weights_equalise_the_classes():
    indices = numpy.array([[0, 0], [0, 0], [0, 0], [1, 2]])
    first, second = balanced_weights(indices, [2, 3])
    assert first.tolist() == pytest.approx([4 / (2 * 3), 4 / (2 * 1)])
    assert second.tolist() == pytest.approx([4 / (2 * 3), 0.0, 4 / (2 * 1)])  # class 1 never seen: weight 0
    # each seen class carries the same total weight: count x weight = n / classes seen
    assert (first.numpy() * numpy.bincount(indices[:, 0])).tolist() == pytest.approx([2.0, 2.0])


def test_encoder_config_validation():
    with pytest.raises(ValueError, match="batch_size"):
        EncoderConfig(batch_size=0)
    with pytest.raises(ValueError, match="dropout"):
        EncoderConfig(dropout=1.0)
    with pytest.raises(ValueError, match="min_steps"):
        EncoderConfig(min_steps=-1)
    with pytest.raises(ValueError, match="not trained"):
        EncoderHierarchyClassifier(TAXONOMY).predict_proba(["x"])


def test_mix_augmented_and_evaluate_with_tfidf():
    real, extra = _documents(per_path=3), _documents(per_path=12)
    assert len(mix_augmented(real, extra, ratio=0.5)) == 12 + 6
    assert len(mix_augmented(real, extra[:4], ratio=2.0)) == 12 + 4  # all there are
    with pytest.raises(ValueError, match="ratio"):
        mix_augmented(real, extra, ratio=-1)
    metrics = evaluate_classifier("tfidf", real, _documents(per_path=12), TAXONOMY, augment=extra, ratio=1.0)
    assert metrics["train_real"] == 12 and metrics["train_augmented"] == 12 and metrics["test"] == 48
    assert metrics["micro_f1"] > 0.9 and set(metrics["levels"]) == {1, 2}
    with pytest.raises(ValueError, match="unknown classifier"):
        evaluate_classifier("svm", real, real, TAXONOMY)


@pytest.mark.faults
def test_a_saved_classifier_with_an_edited_class_list_is_one_error_naming_the_file(trained, tmp_path):
    import json

    from lmcommon.errors import DataError

    classifier, _ = trained
    classifier.save_pretrained(tmp_path / "saved")
    settings = tmp_path / "saved" / "htcgen_classifier.json"
    saved = json.loads(settings.read_text())
    first_level = saved["levels"]["classes"][0] if isinstance(saved["levels"], dict) else None
    assert first_level, saved["levels"]
    first_level.append("Politics")  # a class the head was never trained for
    settings.write_text(json.dumps(saved))
    with pytest.raises(DataError, match=r"htcgen_classifier\.json: lists .* the class lists were edited"):
        EncoderHierarchyClassifier.from_pretrained(tmp_path / "saved")
    del saved["taxonomy"]
    settings.write_text(json.dumps(saved))
    with pytest.raises(DataError, match=r"htcgen_classifier\.json: not a saved htcgen classifier \(KeyError"):
        EncoderHierarchyClassifier.from_pretrained(tmp_path / "saved")

from __future__ import annotations

import pytest

from htcgen.encoder import EncoderConfig, EncoderHierarchyClassifier
from htcgen.evaluate import evaluate_classifier, mix_augmented

from .conftest import TAXONOMY
from .conftest import topic_documents as _documents


def test_encoder_classifier_loss_falls_and_it_learns_the_toy_set(tiny_bert):
    documents = _documents(per_path=6)
    config = EncoderConfig(model=tiny_bert, epochs=40, batch_size=8, learning_rate=2e-3, max_length=32)
    classifier = EncoderHierarchyClassifier(TAXONOMY, config).fit(documents)
    assert classifier.loss_history[-1] < 0.5 * classifier.loss_history[0]
    assert set(classifier.labels) == {"Sports", "Science", "Football", "Tennis", "Physics", "Biology"}
    predicted = classifier.predict([d["text"] for d in documents])
    accuracy = sum(p == d["labels"] for p, d in zip(predicted, documents, strict=True)) / len(documents)
    assert accuracy >= 0.9
    probabilities = classifier.predict_proba(["striker goal penalty"])
    assert probabilities.shape == (1, 6) and ((probabilities >= 0) & (probabilities <= 1)).all()


def test_encoder_config_validation():
    with pytest.raises(ValueError, match="batch_size"):
        EncoderConfig(batch_size=0)
    with pytest.raises(ValueError, match="dropout"):
        EncoderConfig(dropout=1.0)


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

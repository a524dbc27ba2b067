"""TF-IDF classifiers with one multi-class linear model per level: the hierarchy classifier (consistent path
decoding) and the flat per-level baselines a reviewer runs first (``flat-svm``, ``flat-lr``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy

from htcgen.classify import HierarchyClassifier
from htcgen.levels import NO_LABEL, LevelCoding, softmax
from htcgen.taxonomy import Taxonomy

MODELS = ("svm", "lr")


class TfidfLevelClassifier(HierarchyClassifier):
    """TF-IDF over word uni- and bigrams (sublinear tf), then per level a multi-class linear model over that level's
    classes (one-vs-rest ``LinearSVC`` or multinomial logistic regression).

    SVM margins become per-level probabilities through a softmax of ``sharpness`` x margin: a monotone map, so the
    ranking and the decoded paths do not depend on ``sharpness``; only the values a threshold sees do.

    Args:
        taxonomy: the label hierarchy.
        model: ``"svm"`` or ``"lr"``.
        C: inverse regularisation strength.
        class_weight: ``"balanced"`` weighs each class by the inverse of its frequency (most HWV nodes have a
            handful of documents, the largest hundreds), or ``None``.
        max_features: TF-IDF vocabulary size (None: every uni- and bigram).
        sharpness: scale of SVM margins before the softmax.
    """

    def __init__(
        self,
        taxonomy: Taxonomy,
        model: str = "svm",
        C: float = 1.0,
        class_weight: str | None = None,
        max_features: int | None = None,
        sharpness: float = 10.0,
    ):
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; expected one of {MODELS}")
        if C <= 0 or sharpness <= 0:
            raise ValueError(f"C and sharpness must be > 0, got {C} and {sharpness}")
        self.taxonomy = taxonomy
        self.model, self.C, self.class_weight = model, C, class_weight
        self.max_features, self.sharpness = max_features, sharpness
        self.labels: list[str] = []

    def _estimator(self):
        if self.model == "svm":
            from sklearn.svm import LinearSVC

            return LinearSVC(C=self.C, class_weight=self.class_weight)
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=1000)

    def fit(self, documents: Sequence[dict], dev: Sequence[dict] = ()) -> TfidfLevelClassifier:
        """Trains on documents with one label path each (``dev`` is not used: nothing to stop early)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._check_documents(documents)
        self.coding = LevelCoding(documents, self.taxonomy)
        self.labels = self.coding.labels
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=self.max_features)
        features = self.vectorizer.fit_transform([d["text"] for d in documents])
        self.models = []
        for level, classes in enumerate(self.coding.classes):
            if len(classes) == 1:  # a level with one class needs no model: every document takes that class
                self.models.append(None)
                continue
            with warnings.catch_warnings():
                # one document per class (k = 1) is what the low-resource setting is, not a mistake
                warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
                self.models.append(self._estimator().fit(features, self.coding.targets(documents, level)))
        return self

    def level_probabilities(self, texts: Sequence[str]) -> list[numpy.ndarray]:
        """Per level, ``(len(texts), len(coding.classes[level]))`` probabilities in the coding's class order."""
        if not self.labels:
            raise ValueError("the classifier is not trained; call fit first")
        features = self.vectorizer.transform(list(texts))
        result = []
        for model, classes in zip(self.models, self.coding.classes, strict=True):
            if model is None:
                result.append(numpy.ones((len(texts), 1)))
                continue
            if self.model == "svm":
                margins = model.decision_function(features)
                if margins.ndim == 1:  # two classes: sklearn gives the margin of the second only
                    margins = numpy.stack([-margins, margins], axis=1)
                scores = softmax(self.sharpness * margins)
            else:
                scores = model.predict_proba(features)
            position = {label: i for i, label in enumerate(model.classes_)}
            result.append(scores[:, [position[label] for label in classes]])
        return result


class TfidfHierarchyClassifier(TfidfLevelClassifier):
    """The project's TF-IDF classifier: class-balanced ``LinearSVC`` per level, decoded as whole consistent paths.

    Defaults chosen on ``data/htcgen/dev.jsonl`` at depth 2 with every training document and with 1 and 3 per
    leaf: balancing the classes and a stronger regularisation than sklearn's (C = 0.3, not 1) both help the many
    rare nodes; C = 0.1 is best with every document, 0.3 over the three sizes.
    """

    def __init__(self, taxonomy: Taxonomy, C: float = 0.3, class_weight: str | None = "balanced", **options):
        super().__init__(taxonomy, model="svm", C=C, class_weight=class_weight, **options)


class FlatLevelClassifier(TfidfLevelClassifier):
    """The flat baseline: the argmax class of each level on its own, so a child may come without its parent.

    ``model="svm"``: ``LinearSVC()`` with sklearn's defaults; ``model="lr"``: logistic regression with C = 10.
    """

    def __init__(self, taxonomy: Taxonomy, model: str = "svm", **options):
        options.setdefault("C", 1.0 if model == "svm" else 10.0)
        super().__init__(taxonomy, model=model, **options)

    def predict(self, texts: Sequence[str], threshold: float = 0.0) -> list[list[str]]:
        """One label per level (none where the argmax is "the path has ended"); ``threshold`` is not used."""
        per_level = [
            [classes[i] for i in probabilities.argmax(axis=1)]
            for probabilities, classes in zip(self.level_probabilities(texts), self.coding.classes, strict=True)
        ]
        return [[label for label in row if label != NO_LABEL] for row in zip(*per_level, strict=True)]

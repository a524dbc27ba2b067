"""A TF-IDF + one-vs-rest logistic regression classifier over every taxonomy node, with decoding that keeps
predictions consistent with the hierarchy (a child only with its parent)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy

from htcgen.taxonomy import Taxonomy


class TfidfHierarchyClassifier:
    """One binary classifier per node on TF-IDF features of the text.

    Args:
        taxonomy: the label hierarchy.
        max_features: TF-IDF vocabulary size.
        C: inverse regularisation strength of the logistic regressions.
    """

    def __init__(self, taxonomy: Taxonomy, max_features: int = 50_000, C: float = 10.0):
        self.taxonomy = taxonomy
        self.max_features = max_features
        self.C = C
        self.labels: list[str] = []

    def fit(self, documents: Sequence[dict]) -> TfidfHierarchyClassifier:
        """Trains on documents with one label path each (every node on the path is a positive label)."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.preprocessing import MultiLabelBinarizer

        if not documents:
            raise ValueError("no training documents")
        self.vectorizer = TfidfVectorizer(
            max_features=self.max_features, ngram_range=(1, 2), sublinear_tf=True, stop_words="english"
        )
        features = self.vectorizer.fit_transform([d["text"] for d in documents])
        self.binarizer = MultiLabelBinarizer()
        targets = self.binarizer.fit_transform([d["labels"] for d in documents])
        self.labels = list(self.binarizer.classes_)
        self.model = OneVsRestClassifier(LogisticRegression(C=self.C, max_iter=1000), n_jobs=-1)
        self.model.fit(features, targets)
        return self

    def predict_proba(self, texts: Sequence[str]) -> numpy.ndarray:
        """``(len(texts), len(self.labels))`` probabilities, one column per node seen in training."""
        if not self.labels:
            raise ValueError("the classifier is not trained; call fit first")
        return self.model.predict_proba(self.vectorizer.transform(list(texts)))

    def decode(self, probabilities: numpy.ndarray, threshold: float = 0.5) -> list[list[str]]:
        """Top-down decoding: from the root, follow the most probable child while its probability reaches
        ``threshold`` (the first level is always chosen), so every predicted label comes with its parent."""
        column = {label: i for i, label in enumerate(self.labels)}
        paths = []
        for row in probabilities:
            path: list[str] = []
            node = self.taxonomy.root
            while True:
                children = [c for c in self.taxonomy.children.get(node, []) if c in column]
                if not children:
                    break
                best = max(children, key=lambda c: row[column[c]])
                if path and row[column[best]] < threshold:
                    break
                path.append(best)
                node = best
            paths.append(path)
        return paths

    def predict(self, texts: Sequence[str], threshold: float = 0.5) -> list[list[str]]:
        return self.decode(self.predict_proba(texts), threshold)

    def path_probabilities(self, texts: Sequence[str], paths: Sequence[Sequence[str]]) -> list[list[float]]:
        """For each text, the probability of every label on its given path (0 for labels never seen)."""
        column = {label: i for i, label in enumerate(self.labels)}
        probabilities = self.predict_proba(texts)
        return [
            [float(row[column[label]]) if label in column else 0.0 for label in path]
            for row, path in zip(probabilities, paths, strict=True)
        ]

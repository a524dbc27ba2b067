"""Hierarchical text classifiers over every taxonomy node: the decoding they share (a child only with its
parent) and the TF-IDF + one-vs-rest logistic regression model. The fine-tuned encoder is in
:mod:`htcgen.encoder`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy

from htcgen.taxonomy import Taxonomy


class HierarchyClassifier:
    """What every classifier here offers on top of ``predict_proba``: hierarchy-consistent decoding and the
    probabilities of given paths (what the label-consistency filter asks)."""

    taxonomy: Taxonomy
    labels: list[str]

    def fit(self, documents: Sequence[dict]) -> HierarchyClassifier:
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str]) -> numpy.ndarray:
        raise NotImplementedError

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

    def agrees(self, texts: Sequence[str], paths: Sequence[Sequence[str]], threshold: float = 0.5) -> list[bool]:
        """For each text, whether the classifier agrees with its given path: at every level the path's label is the
        most probable of its siblings, and has at least ``threshold``. With a threshold of 0 only the ranking counts,
        which suits classifiers trained on a few documents per class, whose probabilities stay low."""
        probabilities = self.predict_proba(texts)
        predicted = self.decode(probabilities, threshold=0.0)  # always down to a leaf: the argmax path
        column = {label: i for i, label in enumerate(self.labels)}
        verdicts = []
        for row, path, guess in zip(probabilities, paths, predicted, strict=True):
            ranked_first = list(guess[: len(path)]) == list(path)
            confident = all(label in column and row[column[label]] >= threshold for label in path)
            verdicts.append(ranked_first and confident)
        return verdicts

    def _check_documents(self, documents: Sequence[dict]) -> None:
        if not documents:
            raise ValueError("no training documents")
        for index, document in enumerate(documents):
            if not document.get("labels"):
                raise ValueError(f"training document {document.get('id', index)!r} has no labels")


class TfidfHierarchyClassifier(HierarchyClassifier):
    """One binary logistic regression per node on TF-IDF features of the text.

    Args:
        taxonomy: the label hierarchy.
        max_features: TF-IDF vocabulary size.
        C: inverse regularisation strength of the logistic regressions.
        n_jobs: processes for the one-vs-rest fits (-1: every core).
    """

    def __init__(self, taxonomy: Taxonomy, max_features: int = 50_000, C: float = 10.0, n_jobs: int = -1):
        self.taxonomy = taxonomy
        self.max_features = max_features
        self.C = C
        self.n_jobs = n_jobs
        self.labels: list[str] = []

    def fit(self, documents: Sequence[dict]) -> TfidfHierarchyClassifier:
        """Trains on documents with one label path each (every node on the path is a positive label)."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.preprocessing import MultiLabelBinarizer

        self._check_documents(documents)
        self.vectorizer = TfidfVectorizer(
            max_features=self.max_features, ngram_range=(1, 2), sublinear_tf=True, stop_words="english"
        )
        features = self.vectorizer.fit_transform([d["text"] for d in documents])
        self.binarizer = MultiLabelBinarizer()
        targets = self.binarizer.fit_transform([d["labels"] for d in documents])
        self.labels = list(self.binarizer.classes_)
        self.model = OneVsRestClassifier(LogisticRegression(C=self.C, max_iter=1000), n_jobs=self.n_jobs)
        self.model.fit(features, targets)
        return self

    def predict_proba(self, texts: Sequence[str]) -> numpy.ndarray:
        """``(len(texts), len(self.labels))`` probabilities, one column per node seen in training."""
        if not self.labels:
            raise ValueError("the classifier is not trained; call fit first")
        return self.model.predict_proba(self.vectorizer.transform(list(texts)))

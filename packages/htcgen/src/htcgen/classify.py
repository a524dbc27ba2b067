"""What every hierarchical classifier here shares: probabilities per taxonomy node and the decoding that turns them
into one consistent label path per document. The models are in :mod:`htcgen.tfidf` and :mod:`htcgen.encoder`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy

from htcgen.taxonomy import Taxonomy

_FLOOR = 1e-12  # log(0) guard: a node with no probability mass makes its path impossible, not NaN


class HierarchyClassifier:
    """Hierarchy-consistent decoding and the probabilities of given paths (what the label-consistency filter asks)
    on top of a subclass's ``predict_proba``.

    ``predict_proba`` gives, per document, the probability of every node in ``labels`` at its own level (the
    columns of one level sum to at most 1; what is left is the probability that the path ends above that level).
    """

    taxonomy: Taxonomy
    labels: list[str]

    def fit(self, documents: Sequence[dict], dev: Sequence[dict] = ()) -> HierarchyClassifier:
        """Trains on documents with one label path each; ``dev`` documents may guide training (the encoder keeps
        its best weights on them), others ignore them."""
        raise NotImplementedError

    def level_probabilities(self, texts: Sequence[str]) -> list[numpy.ndarray]:
        """Per level, ``(len(texts), len(self.coding.classes[level]))`` probabilities."""
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str]) -> numpy.ndarray:
        """``(len(texts), len(self.labels))`` probabilities, one column per node seen in training."""
        level_probabilities = self.level_probabilities(texts)  # raises first when untrained
        return self.coding.to_columns(level_probabilities)

    def candidate_paths(self) -> list[list[str]]:
        """Every path the decoder may output: the path to each known node whose ancestors are all known."""
        known = set(self.labels)
        paths = []
        for label in self.labels:
            path = self.taxonomy.path(label)
            if all(node in known for node in path):
                paths.append(path)
        return paths

    def decode(self, probabilities: numpy.ndarray, threshold: float = 0.0) -> list[list[str]]:
        """The most probable consistent path per row: the candidate path with the largest sum over levels of the log
        probability of its label there (or of "the path has ended" below its last label).

        Scoring whole paths instead of walking down from the root lets a confident child overrule a parent that
        lost narrowly at its own level. ``threshold`` > 0 then cuts each path before its first label, below the first
        level, whose probability is under ``threshold`` (a partial-path prediction).
        """
        probabilities = numpy.asarray(probabilities, dtype=numpy.float64)
        if probabilities.ndim != 2 or probabilities.shape[1] != len(self.labels):
            raise ValueError(f"expected probabilities of shape (n, {len(self.labels)}), got {probabilities.shape}")
        paths = self.candidate_paths()
        if not paths or not len(probabilities):
            return [[] for _ in probabilities]
        column = {label: i for i, label in enumerate(self.labels)}
        levels = max(self.taxonomy.depth[label] for label in self.labels)
        on_path = numpy.zeros((len(paths), len(self.labels)))
        ended = numpy.zeros((len(paths), levels))  # 1 where the path has ended above the level
        for row, path in enumerate(paths):
            on_path[row, [column[label] for label in path]] = 1.0
            ended[row, len(path) :] = 1.0
        level_of_column = numpy.array([self.taxonomy.depth[label] - 1 for label in self.labels])
        mass = numpy.zeros((len(probabilities), levels))
        numpy.add.at(mass.T, level_of_column, probabilities.T)
        log_probabilities = numpy.log(numpy.clip(probabilities, _FLOOR, None))
        log_ended = numpy.log(numpy.clip(1.0 - mass, _FLOOR, None))
        best = (log_probabilities @ on_path.T + log_ended @ ended.T).argmax(axis=1)
        decoded = []
        for row, choice in zip(probabilities, best, strict=True):
            path = paths[choice]
            kept = [path[0]]
            for label in path[1:]:
                if row[column[label]] < threshold:
                    break
                kept.append(label)
            decoded.append(kept)
        return decoded

    def predict(self, texts: Sequence[str], threshold: float = 0.0) -> list[list[str]]:
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
        """For each text, whether the classifier agrees with its given path: the decoded path starts with it, and
        each of its labels has at least ``threshold``. With a threshold of 0 only the ranking counts, which suits
        classifiers trained on a few documents per class, whose probabilities stay low."""
        probabilities = self.predict_proba(texts)
        predicted = self.decode(probabilities, threshold=0.0)
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

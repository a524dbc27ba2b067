from __future__ import annotations

from htcgen.phrases import PhraseConfig, mine_phrases
from htcgen.taxonomy import Taxonomy

TAXONOMY = Taxonomy({"Root": ["Sports", "Science"], "Sports": ["Football", "Tennis"], "Science": ["Physics"]})


def _doc(text, *labels):
    return {"text": text, "labels": list(labels)}


CORPUS = [
    _doc("The striker scored a goal in the penalty area during the match", "Sports", "Football"),
    _doc("A late goal from the striker won the match for the club", "Sports", "Football"),
    _doc("The goalkeeper saved a penalty and the match ended in a draw", "Sports", "Football"),
    _doc("She served an ace and won the match on grass court", "Sports", "Tennis"),
    _doc("His serve and volley won the match at the grass court final", "Sports", "Tennis"),
    _doc("The racket string broke during the match on clay court", "Sports", "Tennis"),
    _doc("Quantum particles and energy levels in the atom", "Science", "Physics"),
    _doc("The energy of a particle depends on its mass", "Science", "Physics"),
]


def test_distinctive_phrase_ranks_first_and_shared_words_are_dropped():
    phrases = mine_phrases(CORPUS, TAXONOMY, PhraseConfig(top_k=5))
    football = [p for p, _ in phrases["Football"]["own"]]
    tennis = [p for p, _ in phrases["Tennis"]["own"]]
    assert football[0] in {"goal", "striker", "penalty"}
    assert tennis[0] in {"court", "grass court", "grass"}
    assert "match" not in football and "match" not in tennis  # in every sibling's documents: not distinctive


def test_no_phrase_goes_to_two_siblings():
    phrases = mine_phrases(CORPUS, TAXONOMY, PhraseConfig(top_k=50, min_documents=1))
    for parent in ("Root", "Sports"):
        seen: dict[str, str] = {}
        for child in TAXONOMY.children_of(parent):
            for phrase, _ in phrases[child]["own"]:
                assert phrase not in seen, (phrase, child, seen.get(phrase))
                seen[phrase] = child


def test_children_inherit_ancestor_phrases_and_similarity_reorders():
    phrases = mine_phrases(CORPUS, TAXONOMY, PhraseConfig(top_k=5))
    assert phrases["Football"]["inherited"] == phrases["Sports"]["own"]
    assert phrases["Sports"]["inherited"] == []

    def prefers_penalty(candidates, label):
        return [1.0 if phrase == "penalty" else 0.0 for phrase in candidates]

    boosted = mine_phrases(CORPUS, TAXONOMY, PhraseConfig(top_k=5, similarity_weight=5.0), similarity=prefers_penalty)
    assert boosted["Football"]["own"][0][0] == "penalty"

from __future__ import annotations

from htcgen.phrases import PhraseConfig, contains_phrase, literal_ngrams, mine_phrases
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


def test_similarity_is_asked_only_about_phrases_that_can_still_win():
    asked: list[str] = []

    def arbitrary(candidates, label):  # a fixed pseudo-random similarity per phrase
        asked.extend(candidates)
        return [(sum(map(ord, phrase)) % 7) / 6 for phrase in candidates]

    config = PhraseConfig(top_k=3, min_documents=1)
    pruned = mine_phrases(CORPUS, TAXONOMY, config, similarity=arbitrary)
    asked_pruned = len(asked)
    asked.clear()
    everything = mine_phrases(CORPUS, TAXONOMY, PhraseConfig(top_k=10_000, min_documents=1), similarity=arbitrary)
    assert asked_pruned < len(asked)
    for label in TAXONOMY.labels:
        assert pruned[label]["own"] == everything[label]["own"][:3]


def test_phrases_are_the_texts_own_words_in_order():
    text = "A late goal from the striker: the end of the war, in 1918, changed Zürich's role."
    grams = literal_ngrams(text, 3)
    # stop words may sit inside a phrase but never at its ends, and nothing is glued across "the" or punctuation
    assert "goal from" not in grams and "from the striker" not in grams and "goal striker" not in grams
    assert "late goal" in grams and "war" in grams
    assert "end war" not in grams and "end of the" not in grams
    assert "war changed" not in grams and "rich" not in grams and "zürich" in grams  # punctuation ends a phrase
    assert not any(character.isdigit() for gram in grams for character in gram)
    assert all(contains_phrase(text, gram) for gram in grams)


def test_mined_phrases_occur_verbatim_in_their_labels_documents():
    phrases = mine_phrases(CORPUS, TAXONOMY, PhraseConfig(top_k=50, min_documents=1))
    for document in CORPUS:
        for label in document["labels"]:
            for phrase, _ in phrases[label]["own"]:
                assert any(contains_phrase(d["text"], phrase) for d in CORPUS if label in d["labels"]), phrase
    assert "penalty area" in [p for p, _ in phrases["Football"]["own"]]


def test_contains_phrase_wants_whole_words_in_a_row():
    assert contains_phrase("The Grass  Court final", "grass court")
    assert not contains_phrase("grasses court", "grass court")
    assert not contains_phrase("the well-known court", "known court")
    assert not contains_phrase("on grass, court", "grass court")

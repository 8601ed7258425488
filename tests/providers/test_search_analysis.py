"""The index's own text analysis gives exactly the terms Whoosh's analyzers would.

Building the index analyses text with plain regex, lowercasing and a cached Porter stemmer
(search._FastText) rather than Whoosh's analyzer chain, which cost most of a rebuild's time.
Searches analyse queries with Whoosh's StemmingAnalyzer, so the two must agree term for term,
and the index they build must be the same index.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.analysis import StandardAnalyzer, StemmingAnalyzer
from whoosh.fields import TEXT

from marketplace.demo import search_queries
from marketplace.providers import search

TRICKY = [
    "",
    "   ",
    "Hearing Voices peer-support group, Leeds (LS1) - 2nd Tuesday.",
    "Café, naïve, Straße, İstanbul, ΣΟΦΙΑ, ﬁle, Ǆemal, DŽ",
    "e.g. i.e. a.b.c 3.5 1,000 £12.50 don't it's O'Neill",
    "x*y **stars** a* *b under_score __init__ snake_case",
    "a I an the of to be or and ADHD OCD PTSD",
    "voices... voices?! voices's voice's -voices- «voices» 'voices'",
    "emoji 🙂 mixed😀text ٣ arabic مرحبا hindi नमस्ते chinese 你好 urdu اردو",
    "tab\tnew\nline\r\nzero\u200bwidth non\u00a0break",
    "running runs ran runner advocacy advocate advocates counselling counsellor",
]

# Every character class that matters to the word pattern: letters of several scripts, digits,
# marks, underscores, stars, dots and the punctuation between words.
TEXTS = st.text(
    alphabet=st.sampled_from(list("abcXYZ éİıßΣσς ٣5_*.,'-\t\n🙂你ǅ")) | st.characters(),
    max_size=80,
)


def whoosh_terms(analyzer: object, text: str) -> list[str]:
    return [token.text for token in analyzer(text, mode="index")]  # type: ignore[operator]


def test_tricky_text_analyses_as_whoosh_does() -> None:
    plain, stemming = StandardAnalyzer(), StemmingAnalyzer()
    for text in TRICKY:
        assert search._plain_words(text) == whoosh_terms(plain, text), text
        assert search._stemmed_words(text) == whoosh_terms(stemming, text), text


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_any_text_analyses_as_whoosh_does(text: str) -> None:
    assert search._plain_words(text) == whoosh_terms(StandardAnalyzer(), text)
    assert search._stemmed_words(text) == whoosh_terms(StemmingAnalyzer(), text)


def whoosh_schema() -> object:
    """The schema as it was with Whoosh's own analysis: the index to compare against."""
    schema = search.build_schema()
    for name in (*search.TEXT_BOOSTS, "spelling"):
        analyzer = StemmingAnalyzer() if name != "spelling" else StandardAnalyzer()
        schema.remove(name)
        schema.add(name, TEXT(analyzer=analyzer, phrase=False))
    return schema


def index_contents(directory: Path) -> dict[str, object]:
    """Every term's postings (document, frequency, weight) and every field length."""
    ix = whoosh_index.open_dir(str(directory))
    with ix.searcher() as searcher:
        reader = searcher.reader()
        postings = {}
        for fieldname, term in reader.all_terms():
            matcher = reader.postings(fieldname, term)
            items = []
            while matcher.is_active():
                items.append((matcher.id(), matcher.value_as("frequency"), matcher.weight()))
                matcher.next()
            postings[(fieldname, term)] = items
        lengths = {
            (name, docnum): reader.doc_field_length(docnum, name)
            for name in (*search.TEXT_BOOSTS, "spelling")
            for docnum in range(reader.doc_count_all())
        }
        stored = [reader.stored_fields(docnum) for docnum in range(reader.doc_count_all())]
    return {"postings": postings, "lengths": lengths, "stored": stored}


def test_the_index_is_the_one_whoosh_analysis_builds(tmp_path: Path) -> None:
    documents, _keys = search_queries.demo_documents()
    extra = [
        search.listing_document(
            id=10_000 + number,
            name=text,
            summary=text.upper(),
            description=f"{text} {text}",
            organisation=text[:20],
            tags=text.split()[:3],
            categories=(),
            delivery_modes=(),
            languages=(),
            communities=(),
            councils=(),
            takes_direct_payments=True,
            min_price_pence=None,
            cheapest_option_pence=None,
            easting=None,
            northing=None,
            serves_nationally=False,
        )
        for number, text in enumerate(TRICKY)
    ]
    ours = search.SearchIndex(tmp_path / "ours")
    ours.rebuild([*documents, *extra])
    ours.close()

    theirs_dir = tmp_path / "theirs"
    theirs_dir.mkdir()
    theirs = whoosh_index.create_in(str(theirs_dir), whoosh_schema())
    writer = theirs.writer()
    for document in [*documents, *extra]:
        writer.add_document(**search._fields(document))
    writer.commit()
    theirs.close()

    assert index_contents(tmp_path / "ours") == index_contents(theirs_dir)


def test_an_index_from_before_the_fast_analysis_is_used_and_upgraded(tmp_path: Path) -> None:
    documents, _keys = search_queries.demo_documents()
    old = whoosh_index.create_in(str(tmp_path), whoosh_schema())
    writer = old.writer()
    for document in documents[:5]:
        writer.add_document(**search._fields(document))
    writer.commit()
    old.close()

    index = search.SearchIndex(tmp_path)
    try:
        assert index.doc_count() == 5  # kept, not started again
        assert index._ix.schema["name"].__class__ is search._FastText
        index.upsert(documents[5:6])
        pickled = whoosh_index.open_dir(str(tmp_path)).schema  # what the new generation holds
        assert pickled["spelling"].__class__ is search._FastText
        assert index.doc_count() == 6
    finally:
        index.close()

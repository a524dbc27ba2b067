from __future__ import annotations

import signal

import pytest

from pesc.detect import find_pinyin_runs


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("我今天很gaoxing", [("gaoxing", "full")]),
        ("我们明天qu北京", [("qu", "full")]),
        ("这个pingguo手机", [("pingguo", "full")]),
        ("wm明天见", [("wm", "initials")]),
        ("我很gao兴", [("gao", "full")]),
        ("我很GaoXing", [("GaoXing", "full")]),
        ("我很Gaoxing", [("Gaoxing", "full")]),
        ("我们 zai jia 吃饭", [("zai jia", "full")]),
        ("xi'an是个好地方", [("xi'an", "full")]),
        # a slash or bracket between Chinese characters and pinyin separates Chinese, not code
        ("人口密度为43人/pingfanggongli", [("pingfanggongli", "full")]),
        ("这个功能(gongneng)很好", [("gongneng", "full")]),
        # one word typed in full, the next as initials, with nothing between them
        ("铁路地区guanlijucl。", [("guanlijucl", "glued")]),
        ("我们对hmyou兴趣", [("hmyou", "glued")]),
        ("由zhong yang jun weizc", [("zhong yang jun weizc", "glued")]),
        ("案件aj", [("aj", "initials")]),
    ],
)
def test_pinyin_is_found(text, runs):
    assert [(r.text, r.kind) for r in find_pinyin_runs(text)] == runs


@pytest.mark.parametrize(
    "text",
    [
        "我用Python写代码",
        "这个iPhone很贵",
        "CPU占用率很高",
        "GDP增长了",
        "请访问https://example.com/gaoxing查看",
        "访问www.baidu.com即可",
        "发邮件到gao.xing@example.com",
        "运行pip install torch即可",
        "调用os.path.join函数",
        "调用os.path_fangan函数",  # a dotted name with underscores is one name
        "9os.path_women",
        "变量gao_xing的值",
        "代码`women = 1`有错",
        "我买了5kg苹果",
        "x86架构",
        "他说OK",
        "open source软件",
        "Hello world",
        "他喜欢吃banana",
        "A股大跌",
        "维生素c",
        "版本v2发布",
        "文件在src/gaoxing里",
        "调用women()函数",
        # English words made of letters that start syllables are not initials, nor syllables with a cluster
        "这是一个test",
        "我们的plan",
        "通过app下载",
        "他说ok",
        "我的list",
        "比than更",
    ],
)
def test_english_names_urls_code_and_units_are_not_pinyin(text):
    assert find_pinyin_runs(text) == []


@pytest.mark.parametrize("run", ["ab" * 100_000, "a1" * 100_000, "a_" * 100_000, "a." * 100_000, "我" * 200_000])
def test_code_patterns_scan_a_long_run_once(run):
    # the code patterns used to restart at every letter of a run: quadratic, 20,000 letters took 5 s and these
    # 200,000 would take minutes (a hang to a caller); each now starts only where its run starts (milliseconds).
    # The alarm turns a hang into a failure; it is no speed target.
    def hang(*_):
        raise TimeoutError("find_pinyin_runs did not return within 20 s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(20)
    try:
        runs = find_pinyin_runs("我" + run + "很gaoxing")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [r.text for r in runs] == ["gaoxing"]


def test_full_width_letters_are_pinyin_and_offsets_point_into_the_original():
    text = "我今天很ｇａｏｘｉｎｇ！"
    [run] = find_pinyin_runs(text)
    assert (run.start, run.end, run.text, run.kind) == (4, 11, "ｇａｏｘｉｎｇ", "full")
    assert text[run.start : run.end] == run.text
    assert run.splits == (("gao", "xing"),)


def test_full_width_pinyin_is_corrected_in_place(checker):
    result = checker.correct("我们ｚａｉ　ｊｉａ吃饭，很ｇａｏｘｉｎｇ")
    assert result.text == "我们在家吃饭，很高兴"
    for edit in result.edits:
        assert result.source[edit.start : edit.end] == edit.original


def test_an_english_stop_word_between_chinese_characters_is_pinyin():
    assert [r.text for r in find_pinyin_runs("我觉得hen舒服")] == ["hen"]
    assert find_pinyin_runs("他喜欢吃banana") == []  # not glued on both sides: still English
    assert find_pinyin_runs("我觉得 hen 舒服") == []


def test_a_glued_run_says_which_elements_are_initials():
    [run] = find_pinyin_runs("地区guanlijucl。")
    assert ("guan", "li", "ju", "c", "l") in run.splits
    assert [run.unit_kind(element) for element in ("guan", "li", "ju", "c", "l")] == ["syl"] * 3 + ["ini"] * 2
    [full] = find_pinyin_runs("很gaoxing")
    assert full.unit_kind("gao") == "syl"


def test_glued_runs_are_decoded_into_both_words(checker):
    assert checker.correct("1991年南加州铁路地区guanlijucl。").text == "1991年南加州铁路地区管理局成立。"

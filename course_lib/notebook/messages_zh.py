"""The Chinese texts of the feedback messages, by message id, with the same ``{fields}`` as
the English: every id of :data:`course_lib.notebook.messages.MESSAGES` (``tests/
test_feedback_language.py`` checks that each has one), and the classic mistakes of the
exercises (ids ``<exercise id>.<name>``, English in :mod:`course_lib.exercises`) translated
so far; a message without a Chinese text is said in English. Style as in the lessons
(CONTRIBUTING.md, "Two languages"): full-width punctuation, a space between Chinese and
code, numbers or fields.
"""

__all__ = ["MESSAGES"]

MESSAGES: dict[str, str] = {
    # course_lib.notebook.checks and feedback
    "check.passed": "✓ {name}：通过了 {trials} 个随机测试。",
    "check.not_callable": "这里应当是一个函数，得到的是 {got}",
    "check.not_written": "{name} 还没有写：把 `raise NotImplementedError()` 换成你的代码。",
    "check.looks_like": "看起来是这个错误：{mistake}。",
    "check.value_correct": "✓ {name}：正确。",
    "check.true_passed": "✓ {name}：通过。",
    "check.true_failed": "{name}：{message}",
    "summary.title": "本课的练习，以本次会话中最后一次检查的结果为准：",
    "summary.not_checked": "还没有检查：运行它的测试单元格",
    "summary.total": ("{total} 个练习中通过了 {done} 个。在终端里运行 `make progress` "
                      "可以看到每一课的情况。"),
    "compare.expected_items": "{what}：应当是含 {count} 项的 {kind}，得到的是 {got}",
    "compare.got_none": "{what}：得到的是 None。是不是忘了写 `return` 语句？",
    "compare.type": "{what}：应当是 {expected}，得到的是 {got}",
    "compare.shape": "{what}：形状应当是 {expected}，得到的是 {got}",
    "compare.value": "{what}：应当是 {expected!r}，得到的是 {got!r}",
    "compare.bool": ("{what}：应当是布尔数组（True/False），得到的 dtype 是 {dtype}。掩码是布尔值："
                     "用比较（例如 `j <= i`）得到它，不要构造 0/1 的数。"),
    "name.not_defined": "✗ NameError：名称 '{name}' 没有定义",
    "name.run_setup": ("`{name}` 没有定义：请先运行本课的设置单元格（第一个代码单元格，它导入 "
                       "course_lib 并调用 setup_notebook），再运行这个单元格。"),
    "name.run_answer": ("`{name}` 没有定义：请先运行上面的答案单元格（定义 `{name}` 的那个），"
                        "再运行这个测试单元格。"),
    "name.run_above": ("`{name}` 还没有定义：请先运行这个单元格上面的所有单元格"
                       "（Run → Run All Above Selected Cell），再运行这个单元格。"),
    "check.failed": "{name} 没有通过第 {trial} 个随机测试（共 {trials} 个）：{problem}",
    "check.failed_with": ("{name} 没有通过第 {trial} 个随机测试（共 {trials} 个；{inputs}）："
                          "{problem}"),
    "check.inputs": "（输入：{inputs}）",
    "check.raised": "{name} 抛出了 {error}",
    "check.uses_reference": (
        "{name} 调用了 {used}，而这正是本练习要你自己写的 course_lib 函数：请自己实现它"
        "（`course grade` 给这样的答案 0 分，记为 'uses-reference'）。"),
    "check.unknown_exercise": "没有名为 {exercise!r} 的练习（已有的练习：{known}）",
    "check.answer_count": "{exercise} 检查 {expected} 个函数（{names}），得到的是 {given} 个",
    "compare.item_count": "{what}：应当是含 {count} 项的 {kind}，得到的是 {given}；{first}",
    "compare.missing_item": "缺少 {what}（应当是 {expected}）",
    "compare.extra_item": "{what} 是多出来的（得到的是 {got}）",
    "compare.got_sequence": ("{what}：这里应当是一个 {expected}，得到的却是含 {count} 项的 {kind}"
                             "（{items}）：只返回那一个值"),
    "compare.shape_swapped": "（最后两个轴互换了）",
    "compare.shape_same_size": "（元素个数相同，但排列不同）",
    "compare.not_finite": ("{what}：在期望值为有限数的位置上，{size} 个值中有 {count} 个是 NaN 或 "
                           "inf，第一个在索引 {index}（得到 {got}，应当是 {expected:.6g}）"),
    "compare.differ": ("{what}：{size} 个值中有 {count} 个不一致，第一个在索引 {index}"
                       "（得到 {got:.6g}，应当是 {expected:.6g}）"),
    "compare.differ_scalar": "{what}：得到 {got:.6g}，应当是 {expected:.6g}",
    "compare.transposed": "。你的结果是期望结果的转置",
    "compare.ratio": "。每个值都是期望值的 {ratio:.4g} 倍",
    "compare.integers": "。你的值是整数（dtype {dtype}）",
}

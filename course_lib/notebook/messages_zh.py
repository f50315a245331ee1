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
    "summary.total": ("{total} 个练习中通过了 {done} 个。在终端里运行 `make progress` 可以看到每"
                      "一课的情况。"),
    "compare.expected_items": "{what}：应当是含 {count} 项的 {kind}，得到的是 {got}",
    "compare.got_none": "{what}：得到的是 None。是不是忘了写 `return` 语句？",
    "compare.type": "{what}：应当是 {expected}，得到的是 {got}",
    "compare.shape": "{what}：形状应当是 {expected}，得到的是 {got}",
    "compare.value": "{what}：应当是 {expected!r}，得到的是 {got!r}",
    "compare.bool": ("{what}：应当是布尔数组（True/False），得到的 dtype 是 {dtype}。掩码是布尔值"
                     "：用比较（例如 `j <= i`）得到它，不要构造 0/1 的数。"),
    "name.not_defined": "✗ NameError：名称 '{name}' 没有定义",
    "name.run_setup": ("`{name}` 没有定义：请先运行本课的设置单元格（第一个代码单元格，它导入 cou"
                       "rse_lib 并调用 setup_notebook），再运行这个单元格。"),
    "name.run_answer": ("`{name}` 没有定义：请先运行上面的答案单元格（定义 `{name}` 的那个），再"
                        "运行这个测试单元格。"),
    "name.run_above": ("`{name}` 还没有定义：请先运行这个单元格上面的所有单元格（Run → Run All Ab"
                       "ove Selected Cell），再运行这个单元格。"),
    "check.failed": "{name} 没有通过第 {trial} 个随机测试（共 {trials} 个）：{problem}",
    "check.failed_with": ("{name} 没有通过第 {trial} 个随机测试（共 {trials} 个；{inputs}）：{pro"
                          "blem}"),
    "check.inputs": "（输入：{inputs}）",
    "check.raised": "{name} 抛出了 {error}",
    "check.uses_reference": ("{name} 调用了 {used}，而这正是本练习要你自己写的 course_lib 函数："
                             "请自己实现它（`course grade` 给这样的答案 0 分，记为 'uses-referenc"
                             "e'）。"),
    "check.unknown_exercise": "没有名为 {exercise!r} 的练习（已有的练习：{known}）",
    "check.answer_count": "{exercise} 检查 {expected} 个函数（{names}），得到的是 {given} 个",
    "compare.item_count": "{what}：应当是含 {count} 项的 {kind}，得到的是 {given}；{first}",
    "compare.missing_item": "缺少 {what}（应当是 {expected}）",
    "compare.extra_item": "{what} 是多出来的（得到的是 {got}）",
    "compare.got_sequence": ("{what}：这里应当是一个 {expected}，得到的却是含 {count} 项的 {kind}"
                             "（{items}）：只返回那一个值"),
    "compare.shape_swapped": "（最后两个轴互换了）",
    "compare.shape_same_size": "（元素个数相同，但排列不同）",
    "compare.not_finite": ("{what}：在期望值为有限数的位置上，{size} 个值中有 {count} 个是 NaN 或"
                           " inf，第一个在索引 {index}（得到 {got}，应当是 {expected:.6g}）"),
    "compare.differ": ("{what}：{size} 个值中有 {count} 个不一致，第一个在索引 {index}（得到 {got"
                       ":.6g}，应当是 {expected:.6g}）"),
    "compare.differ_scalar": "{what}：得到 {got:.6g}，应当是 {expected:.6g}",
    "compare.transposed": "。你的结果是期望结果的转置",
    "compare.ratio": "。每个值都是期望值的 {ratio:.4g} 倍",
    "compare.integers": "。你的值是整数（dtype {dtype}）",
    # the classic mistakes of the exercises (course_lib/exercises), completing
    # "check.looks_like"
    "l00_softmax.naive": "你忘了减去最大值，于是 exp 溢出了（e^1000 是 inf），inf/inf 得到 NaN",
    "l00_softmax.min_shift": ("你减去的是每行的最小值：如果一行的取值范围超过 709，最大的值仍会让"
                              " exp 溢出。应当减去每行的最大值，这样最大的指数是 e^0 = 1"),
    "l00_softmax.mean_shift": ("你减去的是每行的均值：比均值大 709 以上的值仍会让 exp 溢出。应当"
                               "减去每行的最大值，这样最大的指数是 e^0 = 1"),
    "l00_softmax.first_shift": ("你减去的是每行的第一个元素：比它大 709 以上的值仍会让 exp 溢出。"
                                "应当减去每行的最大值，这样最大的指数是 e^0 = 1"),
    "l00_softmax.global_max": ("你减去的是整个数组的最大值，于是远低于它的行下溢成 0/0：应当取每"
                               "一行的最大值（axis=-1, keepdims=True）"),
    "l00_softmax.textbook_1d": ("你写的是教科书上的一维 softmax：np.max(x) 和 np.sum(...) 作用于"
                                "整个数组，而不是沿最后一个轴（axis=-1, keepdims=True）"),
    "l00_softmax.whole_sum": ("你除以的是整个数组的和（e.sum()）：应当沿最后一个轴求和，e.sum(axi"
                              "s=-1, keepdims=True)，这样每一行的和才是 1"),
    "l00_softmax.axis0": "你在第一个轴（axis=0）上归一化，而不是最后一个轴（axis=-1）",
    "l00_softmax.axis1": "你用了 axis=1，它只对二维数组才是最后一个轴：axis=-1 对任何形状都成立",
    "l00_softmax.no_keepdims": ("你忘了 keepdims=True：x.max(axis=-1) 或 .sum(axis=-1) 会去掉最后"
                                "一个轴，结果就不再和 x 的各行对齐"),
    "l01_perceptron_update.always_update": "你在预测正确时也更新了（应当用误差 y - prediction）",
    "l01_perceptron_update.flipped_sign": "你用了 prediction - y：更新的方向反了",
    "l01_perceptron_update.forgot_bias": "你忘了更新偏置",
    "l01_perceptron_update.no_lr": "你忘了学习率 lr（一步更新是 lr * error * x）",
    "l01_perceptron_update.at_least_zero": ("你在 w . x + b = 0 时预测了 1：感知机只在 w . x + b "
                                            "> 0 时才激活"),
    "l01_mlp_backward.no_tanh_derivative": "你漏掉了 tanh 的导数（1 - h**2）",
    "l01_mlp_backward.not_averaged": "你对 N 个样本求了和，而不是求平均",
    "l01_mlp_backward.y_minus_p": "你用了 y - p：那是负梯度",
    "l01_era_of.first_year_before": ("你把一个时代的第一年（1980、2010、2020）归到了它之前的时代"
                                     "：检查一下 < 和 <= 是否用对"),
    "l01_era_of.last_year_after": ("你把一个时代的最后一年（1979、2009、2019）归到了它之后的时代"
                                   "：检查一下 < 和 <= 是否用对"),
    "l02_rnn_step.no_tanh": "你忘了 tanh",
    "l02_rnn_step.w_hh_transposed": "你乘的是转置的 W_hh（应当用 h_prev @ W_hh）",
    "l02_rnn_step.no_bias": "你漏掉了偏置",
    "l02_rnn_step.sigmoid": "你用了 sigmoid，而不是 tanh",
    "l02_rnn_step.weights_swapped": ("你把 x_t 乘了 W_hh，把 h_prev 乘了 W_xh：x_t (B, I) 应当配 "
                                     "W_xh (I, D)，h_prev (B, D) 应当配 W_hh (D, D)"),
    "l02_power_norms.frobenius": "你用了 Frobenius 范数（np.linalg.norm(M) 没有加 ord=2）",
    "l02_power_norms.starts_at_one": "你从 W^1 开始，而不是从 W^0 = I 开始",
    "l02_power_norms.elementwise_power": ("你把矩阵的每个元素做了 k 次方（W ** k），而不是求矩阵"
                                          "的幂"),
    "l02_power_norms.spectral_radius": ("你用了 W^k 的谱半径（最大的 |特征值|），而不是它的谱范数"
                                        "（最大的奇异值，np.linalg.norm(M, 2)）"),
    "l02_clip.per_tensor": "你对每个张量分别做了裁剪，而不是按全局范数裁剪",
    "l02_clip.always_rescale": "范数已经低于 max_norm 时你仍然做了缩放",
    "l02_clip.no_sqrt": "你用了范数的平方（忘了开平方根）",
    "l02_clip.clipped_norm": ("你返回的是裁剪之后的范数：应当返回裁剪之前的总范数（也就是测得的那"
                              "个）"),
}

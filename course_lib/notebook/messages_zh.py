"""The Chinese texts of the feedback messages, by message id, with the same ``{fields}`` as
the English: every id of :data:`course_lib.notebook.messages.MESSAGES` and every classic
mistake of the exercises (ids ``<exercise id>.<name>``, English in
:mod:`course_lib.exercises`); ``tests/test_feedback_language.py`` checks that each has one.
A message without a Chinese text would be said in English. Style as in the lessons
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
    "l03_masked_softmax.inf_fill_nan": ("你把被掩码的分数填成 -inf，然后做了稳定的 softmax：掩码"
                                        "的第 {row} 行不允许任何键，所以那一行的每个权重都应当是 "
                                        "0；填入 -inf 后，这一行的最大值是 -inf，而 exp(-inf - (-"
                                        "inf)) 是 NaN。对没有允许的键的行，应当给出全 0（对最大值"
                                        "和除法做保护）"),
    "l03_masked_softmax.big_negative_fill": ("你把被掩码的分数填成了一个很大的负数（比如 -1e9），"
                                             "而不是把它们排除在外：掩码的第 {row} 行不允许任何键"
                                             "，于是这一行的分数全都相等，softmax 给它的 {S} 个键"
                                             "各 1/{S} 的权重，而不是 0"),
    "l03_masked_softmax.zero_fill": ("你把被掩码的分数设成了 0，而不是把它们排除在外：exp(0) = 1 "
                                     "仍然给了它们权重"),
    "l03_masked_softmax.no_max": ("你在求 exp 之前没有减去每行的最大值：接近 1000 的分数会溢出（e"
                                  "^1000 是 inf，而 inf/inf 是 NaN）"),
    "l03_masked_softmax.max_of_all": ("你在每一行的所有分数上取最大值，把被掩码的也算了进去：一个"
                                      "比允许的分数大 1000 的被掩码分数，会让所有允许的 exp 都下"
                                      "溢成 0。只在允许的分数上取最大值"),
    "l03_masked_softmax.index_fill": ("你写了 scores[~mask] = -np.inf：布尔索引要求掩码的形状与分"
                                      "数完全相同，但掩码只需要能广播到分数的形状（这里是 {mask}"
                                      "）；np.where(mask, scores, -np.inf) 可以广播"),
    "l03_masked_softmax.times_mask": ("你把 softmax 乘上了掩码，却没有重新归一化：一行中允许的权"
                                      "重之和必须重新等于 1"),
    "l03_masked_softmax.ignored_mask": "你忽略了掩码：被掩码的键得到了权重",
    "l03_masked_softmax.inverted_mask": ("你把掩码用反了：True 表示“可以关注”，所以应当保留 mask "
                                         "为 True 的分数，排除其余的"),
    "l03_masked_softmax.query_axis": "你在查询上（轴 -2）归一化，而不是在键上（最后一个轴）",
    "l03_masked_softmax.axis1": ("你在 axis=1 上归一化，它只对二维的分数才是键的轴：用 axis=-1，"
                                 "批量的分数也能正确处理"),
    "l03_sdpa.k_dot_T": ("你用了 k.T：对批量数组，.T 会把所有轴都反过来（{shape} 变成 {reversed}"
                         "），于是形状对不上了。只交换最后两个轴：np.swapaxes(k, -1, -2)"),
    "l03_sdpa.transpose_3d": ("你用 k.transpose(0, 2, 1) 交换轴，这只适用于三维数组：np.swapaxes("
                              "k, -1, -2) 对任意多个批量轴都成立"),
    "l03_sdpa.np_dot": ("你用了 np.dot，它在批量数组上会把每个批次与其他每个批次配对：应当用 @（n"
                        "p.matmul），它把第 i 个批次与第 i 个批次配对"),
    "l03_sdpa.elementwise": ("你逐元素地计算了 q * k：这样查询 i 只和键 i 配对；而每个查询都需要"
                             "与每个键算一个分数，即 q @ np.swapaxes(k, -1, -2)"),
    "l03_sdpa.no_scale": "你漏掉了 1/sqrt(d_k) 这个缩放",
    "l03_sdpa.d_k_not_sqrt": "你除以的是 d_k，而不是 sqrt(d_k)",
    "l03_sdpa.scale_d_v": ("你用 sqrt(d_v) 做缩放，d_v 是 v 的最后一个轴：缩放应当是 1/sqrt(d_k)"
                           "，其中 d_k = q.shape[-1] = k.shape[-1]"),
    "l03_sdpa.scale_T": ("你用 sqrt(T) 做缩放，T 是查询的个数（q.shape[-2]）：缩放应当是 1/sqrt(d"
                         "_k)，其中 d_k = q.shape[-1]"),
    "l03_sdpa.scale_S": ("你用 sqrt(S) 做缩放，S 是键的个数（k.shape[-2]）：缩放应当是 1/sqrt(d_k"
                         ")，其中 d_k = q.shape[-1]"),
    "l03_sdpa.scale_first": ("你用 sqrt(q.shape[0])（或 len(q)）做缩放：第一个轴是批量（或查询）"
                             "，而不是 d_k = q.shape[-1]"),
    "l03_sdpa.query_axis": "你在查询上（轴 -2）做 softmax，而不是在键上",
    "l03_sdpa.ignored_mask": "你忽略了掩码：应当把它传给 numpy_ref.masked_softmax",
    "l03_sdpa.inverted_mask": "你把掩码用反了：True 表示“可以关注”",
    "l03_sdpa.none_masks_all": ("你把 mask=None 当成了“不允许任何键”：np.where(None, scores, -np."
                                "inf) 会把一切都掩码掉。mask 为 None 时，每个键都是允许的"),
    "l03_sdpa.none_crash": ("你没有处理默认的 mask=None：没有掩码时，每个键都是允许的（numpy_ref."
                            "masked_softmax(scores, None) 就是这样处理的）"),
    "l03_sdpa.swapped_return": "你返回的是 (weights, out)；题目要求返回 (out, weights)",
    "l03_additive.no_tanh": "你忘了在投影和 v 之间加 tanh",
    "l03_additive.tanh_outside": "你在乘以 v 之后才做 tanh，而不是之前",
    "l03_additive.no_transpose": ("你乘的是 Wq（或 Wk）本身，而不是它的转置：这些权重采用 torch.n"
                                  "n.Linear 的 (out, in) 布局，所以 W_q q_i 是 q @ Wq.T"),
    "l03_additive.swapped_weights": "你用 Wk 投影了查询，用 Wq 投影了键：W_q 属于查询",
    "l03_additive.no_broadcast": ("你把投影后的查询 (T, h) 和键 (S, h) 直接相加了：应当给它们不同"
                                  "的轴，(T, 1, h) + (1, S, h)，这样每个查询才会与每个键相遇"),
    "l03_additive.keys_first": ("你把键放在了第一个轴上：分数是 (T, S)，每个查询一行，所以新轴应"
                                "当加在查询之后：(q @ Wq.T)[:, None, :]"),
    "l03_additive.sum_not_v": ("你把 tanh 特征直接求和了，而没有用 v 加权：分数是 v^T tanh(...)，"
                               "即 features @ v"),
    "l03_bug_hunt.kept_1_and_6": "你留下了错误 (1) 和 (6)，即逐元素配对 q_i * k_i 和 weights * V",
    "l03_bug_hunt.kept_1": ("你留下了错误 (1)，逐元素的 Q * K：它只把查询 i 和键 i 配对；每个查询"
                            "都需要与每个键算一个分数，即 Q @ K.T"),
    "l03_bug_hunt.kept_2": "你留下了错误 (2)，缺少 1/sqrt(d_k) 缩放",
    "l03_bug_hunt.kept_3": "你留下了错误 (3)，在 softmax 之前把分数乘上了 V",
    "l03_bug_hunt.kept_5": "你留下了错误 (5)，在轴 0（查询）上归一化，而不是在键上（axis=-1）",
    "l03_bug_hunt.kept_6": "你留下了错误 (6)，用的是 weights * V（逐元素），而不是 weights @ V",
    "l03_bug_hunt.no_transpose": "你在修正 (1) 时漏掉了转置：写成了 Q @ K，而不是 Q @ K.T",
    "l03_bug_hunt.scale_T": ("你除以的是 sqrt(Q.shape[0])，即查询的个数：缩放应当是 1/sqrt(d_k)，"
                             "其中 d_k = Q.shape[-1] = K.shape[-1]（8 x 8 的方阵输入掩盖了这一点"
                             "）"),
    "l03_bug_hunt.scale_S": ("你除以的是 sqrt(len(K))，即键的个数：缩放应当是 1/sqrt(d_k)，其中 d"
                             "_k = K.shape[-1]（8 x 8 的方阵输入掩盖了这一点）"),
    "l03_bug_hunt.scale_d_v": ("你除以的是 sqrt(V.shape[1])，即值的宽度：缩放应当是 1/sqrt(d_k)，"
                               "其中 d_k = K.shape[-1]（8 x 8 的方阵输入掩盖了这一点）"),
    "l03_bug_hunt.scale_8": ("你把 sqrt(8) 写死了：d_k 只在这段代码的例子里是 8；应当用 np.sqrt(K"
                             ".shape[-1])"),
    "l03_bug_hunt.d_k_not_sqrt": "你除以的是 d_k，而不是 sqrt(d_k)",
    "l03_bug_hunt.kept_4": ("你留下了错误 (4)：NumPy 没有 np.softmax；用 numpy_ref.softmax(scores"
                            ", axis=-1)，或者用 np.exp 自己写"),
    "l03_bug_hunt.with_weights": "你返回的是 (output, weights)：fixed_attention 只返回注意力的输出",
    "l04_decoder_step.no_mask": "你忘了填充掩码：填充的位置得到了注意力",
    "l04_decoder_step.cell_input_swapped": ("你给 GRU 单元输入的是 [context; embedding]；它期望的"
                                            "是 [embedding; context]"),
    "l04_decoder_step.old_state_out": "你在输出层用的是上一个状态 h，而不是新状态",
    "l04_decoder_step.out_input_order": ("你为输出层拼接的是 [new state, embedding, context]；它"
                                         "期望的是 [new state, context, embedding]"),
    "l04_beam_step.token_only": "你只按新词元的对数概率排序，忘了前缀的分数 beam_scores",
    "l04_beam_step.best_per_beam": "你保留了每个束里最好的词元，而不是所有束中最好的那些扩展",
    "l04_beam_step.div_mod_swapped": ("你把 // 和 % 用反了：在展平的 (K * V) 排序中，index // V "
                                      "是束，index % V 是词元"),
    "l04_beam_step.divided_by_K": ("你把展平的索引除以 K（束的个数），而不是 V（词表大小）：每个"
                                   "束占据 V 个连续的位置"),
    "l04_beam_step.kept_K": "你保留了 K 个扩展（与当前束的个数相同），而不是 beam_size 个",
    "l05_split_heads.plain_reshape": ("你直接 reshape 成了 (B, H, T, D/H)：这样每个头会混入好几个"
                                      "词元的特征"),
    "l05_split_heads.no_transpose": "你忘了移动头所在的轴：结果是 (B, T, H, D/H)",
    "l05_split_heads.merge_plain_reshape": ("你把 (B, H, T, Dh) 直接 reshape 成了 (B, T, H*Dh)，"
                                            "没有先把头所在的轴移回去"),
    "l05_split_heads.merge_view": ("你在 .transpose 之后调用了 .view：转置后的张量在内存中不连续"
                                   "，应当用 .reshape（或 .contiguous().view）"),
    "l05_sinusoidal.swapped": "你把正弦和余弦对调了（余弦应当放在奇数列）",
    "l05_sinusoidal.pair_index": "你在指数 10000^(2i/d) 中用了成对的下标 i，而不是 2i",
    "l05_sinusoidal.blocks": "你把所有正弦放在前面、所有余弦放在后面，而不是交替排列",
    "l05_sinusoidal.positive_exponent": ("你把位置乘以 10000^(2i/d)，而不是除以它：频率必须沿着列"
                                         "逐渐降低"),
    "l05_causal_mask.polarity": "你用了 torch.nn.MultiheadAttention 的约定（True = 屏蔽）",
    "l05_causal_mask.no_diagonal": "你漏掉了对角线：一个位置必须可以关注它自己",
    "l05_causal_mask.upper": "你构造的是上三角：那会让每个位置读到未来",
    "l05_encoder_layer.pre_norm": ("你在每个子层之前做归一化（pre-norm）；论文中的层是在残差相加"
                                   "之后做归一化"),
    "l05_encoder_layer.no_residual": "你漏掉了残差连接（x + ...）",
    "l05_encoder_layer.flipped_mask": "你把填充掩码用反了（torch.nn.MultiheadAttention 的约定）",
    "l05_encoder_layer.no_mask": "你忽略了填充掩码",
    "l06_causal_attention.no_mask": "你忘了因果掩码（每个位置都看到了未来）",
    "l06_causal_attention.mask_transposed": "你把掩码用反了（每个位置只看到未来）",
    "l06_causal_attention.no_scale": "你忘了把分数除以 sqrt(D)",
    "l06_causal_attention.scale_T": ("你把分数除以 sqrt(T)，T 是位置的个数：缩放应当是 1/sqrt(D)"
                                     "，D = x.shape[-1]"),
    "l06_causal_attention.zero_fill": ("你把被掩码的分数设成了 0，而不是 -inf（分数为 0 仍然会得"
                                       "到权重）"),
    "l06_temperature_top_k.times_temperature": "你把 logits 乘以温度，而不是除以温度",
    "l06_temperature_top_k.no_temperature": "你忽略了温度",
    "l06_temperature_top_k.no_renormalising": "你把前 k 个之外的概率置零后，没有对剩下的重新归一化",
    "l06_temperature_top_k.batch_axis": "你在批量轴上做了 softmax，而不是在词表轴上",
    "l06_temperature_top_k.no_top_k": "你忽略了 top_k：最好的 k 个之外的每个词元，概率都必须是 0",
    "l06_kv_cache_step.without_self": "你只关注了缓存里的词元，忘了新词元自己的键和值",
    "l06_kv_cache_step.new_first": "你把新的键和值放在了缓存的前面（缓存必须保持顺序）",
    "l06_kv_cache_step.wrong_dim": "你沿最后一个轴（特征）拼接了：缓存是沿序列轴增长的，dim=-2",
    "l06_kv_cache_step.no_scale": "你忘了把分数除以 sqrt(Dh)",
    "l07_window_mask.window_plus_one": ("你让每个查询看到了 window + 1 个键（差了一个：应当用 i -"
                                        " j < window，而不是 <=）"),
    "l07_window_mask.window_minus_one": ("你让每个查询只看到 window - 1 个键（它自己和它之前的 wi"
                                         "ndow - 2 个）：应当用 i - j < window"),
    "l07_window_mask.not_causal": "你忘了因果性：你的窗口也覆盖了查询之后的键",
    "l07_window_mask.after_query": "你把窗口放在了查询之后，而不是之前（掩码被转置了）",
    "l07_rope.no_offset": "你忽略了 offset：第一行位于位置 offset，而不是 0",
    "l07_rope.wrong_way": "你旋转的方向反了（sin 项的符号对调了）",
    "l07_rope.halves": ("你把维度 i 与 i + Dh/2 配对（“rotate-half”布局），而不是把相邻的 2i、2i+"
                        "1 配对"),
    "l07_rope.frequencies": "你用的频率是 10000 ** (-i / Dh)，而不是 10000 ** (-2i / Dh)",
    "l07_online_softmax.no_rescale": ("你忘了重新缩放这一步：在加上这一块之前，要把原来的 total "
                                      "和 acc 乘以 exp(m_old - m_new)"),
    "l07_online_softmax.total_only": ("你重新缩放了 total，却没有缩放 acc（两者都是相对于原来的最"
                                      "大值计算的）"),
    "l07_online_softmax.tile_max": "你只取了这一块自己的最大值；m 必须是所有块上的累计最大值",
    "l08_patchify.flatten_at_once": ("你直接 reshape 成了 (B, N, C*p*p)，没有先把图像块网格的轴移"
                                     "到前面（reshape 顺序的错误）：每个“图像块”混入了好几个图像"
                                     "块的像素"),
    "l08_patchify.channel_last": ("你在每个图像块内把通道放在了最后；unfold 和 Conv2d 都把图像块"
                                  "的通道放在最前"),
    "l08_patchify.column_major": "你按列读取图像块；应当按行读取（从左到右，再往下）",
    "l08_patchify.pixel_columns_first": ("你按列展平了每个图像块的像素；在一个图像块内，应当先按"
                                         "行，再按列"),
    "l08_cross_attention.patches_ask": ("你让图像块去关注单词：查询必须来自文本（单词），键和值来"
                                        "自图像（图像块）"),
    "l08_cross_attention.over_words": ("你在单词上（dim=-2）做了 softmax；每个单词在各图像块上的"
                                       "权重之和必须是 1（dim=-1）"),
    "l08_cross_attention.no_scale": "你忘了把分数除以 sqrt(d)",
    "l08_cross_attention.scale_D": "你除以的是输入宽度的 sqrt(D)，而不是查询和键的宽度的 sqrt(d)",
    "l09_fit_exponent.linear_axes": ("你在线性坐标上拟合了一条直线：幂律只在双对数坐标上才是直线"
                                     "（对 n 和 loss 都取对数）"),
    "l09_fit_exponent.slope": ("你直接返回了斜率：log L 对 log N 的斜率是 -alpha，所以指数是斜率"
                               "的相反数"),
    "l09_fit_exponent.semi_log": "你只对 n 取了对数（半对数拟合）：loss 也要取对数",
    "l09_fit_exponent.swapped_axes": ("你把坐标轴对调了（拟合的是 log n 对 log loss）：应当用 log"
                                      " n 回归 log loss"),
    "l09_fit_exponent.intercept": ("你返回的是截距：np.polyfit(x, y, 1) 给出 [slope, intercept]，"
                                   "指数是斜率的相反数"),
    "l09_training_bytes.no_adam": ("你忘了 Adam 的两个状态（梯度的滑动平均和平方的滑动平均）：每"
                                   "个参数 16 字节，而不是 8 字节"),
    "l09_training_bytes.no_gradients": "你忘了梯度（每个参数 4 字节）",
    "l09_training_bytes.weights_only": "你只算了权重：训练时还要保存梯度和 Adam 的两个状态",
    "l09_training_bytes.not_divided": ("分片时你没有除以 worker 的个数：FSDP / ZeRO-3 在每个 work"
                                       "er 上只保存全部内容的 1/W"),
    "l09_training_bytes.divided_always": ("没有分片时你也除以了 worker 的个数：普通的数据并行在每"
                                          "个 worker 上都保存一份完整的副本"),
    "l09_training_bytes.bits": "你把每个 float32 值算成了 32：那是比特数；一个 float32 占 4 字节",
    "l09_quantize_rows.one_scale": ("你对整个矩阵只用了一个缩放因子：这样一行较小的权重会被舍入成"
                                    " 0；应当每行用一个缩放因子"),
    "l09_quantize_rows.per_column": "你对每列取一个缩放因子，而不是每行（在 dim=0 上取 amax）",
    "l09_quantize_rows.max_not_abs": ("你用的是每行的最大值，而不是最大绝对值，于是很大的负权重被"
                                      "截断了"),
    "l09_quantize_rows.truncated": "你把 w / scale 向零截断了，而不是舍入到最近的整数",
    "l09_quantize_rows.scale_255": ("你把最大绝对值除以 255（或 128）：这里 int8 的取值范围是 -12"
                                    "7 .. 127，所以缩放因子是 max|w| / 127"),
    "l10_bpe_merge.across_pretokens": ("你统计了跨越预分词片段的字节对（好像文本没有预分词一样）"
                                       "：合并从不跨越预分词片段，所以只统计每个片段内部的字节对"),
    "l10_bpe_merge.smaller_on_ties": ("计数相同时你选了较小的字节对：在计数最高的字节对中，应当取"
                                      " (first, second) 元组最大的那个"),
    "l10_bpe_merge.first_seen_on_ties": ("计数相同时你选了最先统计到的字节对（max(counts, key=cou"
                                         "nts.get)）：在计数最高的字节对中，应当取 (first, second"
                                         ") 元组最大的那个"),
    "l10_bpe_merge.joined_on_ties": ("计数相同时你按合并后的字节 first + second 来比较：(a, bc) "
                                     "和 (ab, c) 拼出的字节相同；应当比较 (first, second) 元组"),
    "l10_bpe_merge.distinct_pairs": ("你在每个预分词片段里对每个字节对只计了一次：应当统计每一次"
                                     "出现（x x x x 中字节对 (x, x) 出现了三次）"),
    "l10_bpe_merge.merged_token": ("在要求返回字节对的地方，你返回了合并后的词元：应当返回字节对"
                                   "本身，即元组 (first, second)，然后是合并后的预分词片段"),
    "l10_bpe_merge.first_only": ("你只合并了每个预分词片段中的第一次出现：应当从左到右合并每一次"
                                 "出现"),
    "l10_bpe_merge.right_to_left": "你从右边开始合并：像 BPE 那样从左到右合并时，x x x 变成 xx x",
    "l10_rmsnorm.mean_not_rms": "你除以的是均值，而不是均方根 sqrt(mean(x^2) + eps)",
    "l10_rmsnorm.no_eps": "你忘了平方根里面的 eps",
    "l10_rmsnorm.eps_outside": "你把 eps 加在了平方根外面：它应当在里面，sqrt(mean(x^2) + eps)",
    "l10_rmsnorm.no_sqrt": "你忘了开平方根（除以的是均方）",
    "l10_rmsnorm.sum_of_squares": "你把平方求和了，而不是求平均：均方根要除以 D",
    "l10_rmsnorm.wrong_axis": ("你在最后一个轴以外的轴上做了归一化：不管有多少个轴，均方根都是在"
                               "特征上算的，dim=-1"),
    "l10_rmsnorm.whole_tensor": ("你在整个张量上求了均值：每个向量（最后一个轴）都有它自己的均方"
                                 "根（mean(dim=-1, keepdim=True)）"),
    "l10_rmsnorm.layer_norm": "你减去了均值：那是 LayerNorm，不是 RMSNorm",
    "l10_rmsnorm.std": ("你除以的是标准差（x.var 或 x.std 会减去均值）：RMSNorm 用的是 x^2 本身的"
                        "均值"),
    "l10_rmsnorm.no_weight": "你忘了乘以 weight",
    "l10_induction.copy_token": ("你看的是当前词元之前出现的那个副本（t - span），而不是它之后的"
                                 "那个词元（t - span + 1）"),
    "l10_induction.key_before": ("你看的是键 t - span - 1，即之前那个副本前面的词元：归纳头看的是"
                                 "它后面的那个，t - span + 1"),
    "l10_induction.previous_token": "你测量的是前一个词元（t - 1）：那是前一词元头",
    "l10_induction.all_queries": ("你对所有具有这种键的查询求了平均（从 t = span - 1 开始），而不"
                                  "是只对后半部分（t >= span）"),
    "l10_induction.late_start": "你的查询晚开始了一个（t > span）：后半部分从 t = span 开始",
    "l10_induction.heads_averaged": "你把各个头也平均了：应当每个头给出一个分数，形状为 (H,)",
    "l10_induction.batch_kept": ("你保留了批量轴：应当在批量和查询上求平均，mean(dim=(0, 2))，每"
                                 "个头一个分数，形状为 (H,)"),
    "l10_induction.summed": "你把权重求和了，而不是在批量和查询上求平均",
    "l10_induction.transposed": ("你的索引是 weights[..., key, query]：weights[..., t, s] 是查询 "
                                 "t 放在键 s 上的权重"),
}

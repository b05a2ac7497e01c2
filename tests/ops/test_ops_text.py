"""Op tests for the text ops: StringNormalizer, StringConcat, StringSplit, RegexFullMatch,
TfIdfVectorizer, against onnxruntime.

Where onnxruntime's behaviour is not the ONNX spec's, the case carries a Python reference
instead (named *_ref): onnxruntime's StringNormalizer needs the en_US.UTF-8 locale unless the
model names another (cases against it name C.UTF-8), and its StringSplit splits on ' ' only,
trims the remainder after maxsplit and gives "" no substrings, where the ONNX reference and
spec examples (Python's str.split) do not.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_text.py -q
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import ferry
from op_harness import F32, I32, I64, Case, Lit, make_test

CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


def S(*values, shape=None) -> np.ndarray:
    a = np.array(list(values), dtype=object)
    return a.reshape(shape) if shape is not None else a


# StringConcat: broadcasting patterns, empty strings, UTF-8, 0-d, empty tensors.
add(Case("StringConcat", [Lit(S("abc", "def")), Lit(S(".com", ".net"))], name="same", opsets=(20,)),
    Case("StringConcat", [Lit(S("cat", "dog", "snake")), Lit(S("s"))], name="bcast_one", opsets=(20,)),
    Case("StringConcat", [Lit(S("a", "b", shape=(2, 1))), Lit(S("x", "y", "z", shape=(1, 3)))], name="outer", opsets=(20,)),
    Case("StringConcat", [Lit(S(*"abcdef", shape=(2, 3))), Lit(S("1", "2", "3"))], name="row", opsets=(20,)),
    Case("StringConcat", [Lit(np.array("pre", dtype=object)), Lit(S(*"abcdef", shape=(3, 2)))], name="scalar_a", opsets=(20,)),
    Case("StringConcat", [Lit(np.array("cat", dtype=object)), Lit(np.array("s", dtype=object))], name="scalar", opsets=(20,)),
    Case("StringConcat", [Lit(S("abc", "")), Lit(S("", "abc"))], name="empty_strings", opsets=(20,)),
    Case("StringConcat", [Lit(S("的", "é")), Lit(S("中", "\u3000x"))], name="utf8", opsets=(20,)),
    Case("StringConcat", [Lit(np.zeros((0, 3), dtype=object)), Lit(S("a", "b", "c"))], name="empty", opsets=(20,)),
    Case("StringConcat", [Lit(S(*"abcdefgh", shape=(2, 1, 4))), Lit(S("x", "y", "z", shape=(3, 1)), const=True)],
         name="rank3_const", opsets=(20,)))


# StringSplit against onnxruntime where it agrees with the spec.
add(Case("StringSplit", [Lit(S("abc.com", "def.net"))], {"delimiter": "."}, outputs=2, name="basic", opsets=(20,)),
    Case("StringSplit", [Lit(S("o-n-n--x-", "o-n----nx"))], {"delimiter": "-"}, outputs=2, name="consecutive", opsets=(20,)),
    Case("StringSplit", [Lit(S("xabyababz", "ab", "abab", "nothing"))], {"delimiter": "ab"}, outputs=2, name="multichar",
         opsets=(20,)),
    Case("StringSplit", [Lit(S("a-b-c-d", "a--", "-", "x"))], {"delimiter": "-", "maxsplit": 1}, outputs=2,
         name="maxsplit1", opsets=(20,)),
    Case("StringSplit", [Lit(S("a.b.c", "a.b.c.d.e"))], {"delimiter": ".", "maxsplit": 0}, outputs=2, name="maxsplit0",
         opsets=(20,)),
    Case("StringSplit", [Lit(S("a.b.c", "a"))], {"delimiter": ".", "maxsplit": -1}, outputs=2, name="maxsplit_neg",
         opsets=(20,)),
    Case("StringSplit", [Lit(S("hello world", "def.net", "o n n x", "the quick brown fox", shape=(2, 2)))],
         {"maxsplit": 2}, outputs=2, name="ws_maxsplit_2d", opsets=(20,)),
    Case("StringSplit", [Lit(S("hello world !", "  hello   world !", " hello world   ! "))], {}, outputs=2,
         name="ws", opsets=(20,)),
    Case("StringSplit", [Lit(S("hello world !", "  hello   world !"))], {"delimiter": ""}, outputs=2,
         name="ws_empty_delimiter", opsets=(20,)),
    Case("StringSplit", [Lit(S("的,中,", "é"))], {"delimiter": ","}, outputs=2, name="utf8", opsets=(20,)),
    Case("StringSplit", [Lit(np.zeros((0,), dtype=object))], {}, outputs=2, name="empty", opsets=(20,)),
    Case("StringSplit", [Lit(np.zeros((2, 0), dtype=object))], {"delimiter": ","}, outputs=2, name="empty_2d",
         opsets=(20,)),
    Case("StringSplit", [Lit(S("a b", "c d e f", shape=(1, 2, 1)))], {}, outputs=2, name="rank3", opsets=(20,)))


def py_split(x, delimiter=None, maxsplit=None):
    """The ONNX reference's semantics: Python's str.split, padded with ""."""
    sep = delimiter or None
    parts = [s.split(sep, -1 if maxsplit is None else maxsplit) for s in x.reshape(-1)]
    width = max([len(p) for p in parts], default=0)
    y = np.array([p + [""] * (width - len(p)) for p in parts], dtype=object).reshape(*x.shape, width)
    return [y, np.array([len(p) for p in parts], dtype=np.int64).reshape(x.shape)]


add(Case("StringSplit", [Lit(S("", "a", "-"))], {"delimiter": "-"}, outputs=2, name="empty_string_ref", opsets=(20,),
         reference=py_split),
    Case("StringSplit", [Lit(S("  a  b c  ", "", "   ", "x"))], {"maxsplit": 1}, outputs=2, name="ws_remainder_ref",
         opsets=(20,), reference=py_split),
    Case("StringSplit", [Lit(S("a\tb\nc\r\nd", "a\x1cb\xa0c\u3000d\u2003e", "\u2028x\u2029"))], {}, outputs=2,
         name="unicode_ws_ref", opsets=(20,), reference=py_split),
    Case("StringSplit", [Lit(S("a--b", "--", ""))], {"delimiter": "--", "maxsplit": 5}, outputs=2,
         name="delimiter_ref", opsets=(20,), reference=py_split))


# RegexFullMatch (RE2 syntax).
EMAIL = r"(\W|^)[\w.\-]{0,25}@(yahoo|gmail)\.com(\W|$)"
add(Case("RegexFullMatch", [Lit(S("www.google.com", "www.facebook.com", "www.bbc.co.uk"))],
         {"pattern": r"www\.[\w.-]+\.\bcom\b"}, name="basic", opsets=(20,)),
    Case("RegexFullMatch", [Lit(S("account@gmail.com", "account@hotmail.com", "not email", "account2@yahoo.com",
                                  shape=(2, 2)))], {"pattern": EMAIL}, name="email_2d", opsets=(20,)),
    Case("RegexFullMatch", [Lit(np.zeros((2, 0), dtype=object))], {"pattern": EMAIL}, name="empty", opsets=(20,)),
    Case("RegexFullMatch", [Lit(S("abc", "abcd", "", "xabc"))], {"pattern": "abc"}, name="full_not_partial",
         opsets=(20,)),
    Case("RegexFullMatch", [Lit(S("", "a", "aa"))], {"pattern": "a*"}, name="star", opsets=(20,)),
    Case("RegexFullMatch", [Lit(S("héllo", "a1", "中文", ""))], {"pattern": r"\pL+"}, name="unicode_class",
         opsets=(20,)),
    Case("RegexFullMatch", [Lit(S("ABC", "abc", "aBc"))], {"pattern": "(?i)abc"}, name="case_flag", opsets=(20,)),
    Case("RegexFullMatch", [Lit(S("2024-01-31", "2024-1-31", "x2024-01-31"), const=True)],
         {"pattern": r"\d{4}-\d{2}-\d{2}"}, name="const_input", opsets=(20,)),
    Case("RegexFullMatch", [Lit(np.array("a.b", dtype=object))], {"pattern": r"a\.b"}, name="scalar", opsets=(20,)))


# StringNormalizer against onnxruntime (locale named: onnxruntime's default needs en_US.UTF-8).
WEEK = S("monday", "tuesday", "wednesday", "thursday")
C_UTF8 = {"locale": "C.UTF-8"}
add(Case("StringNormalizer", [Lit(S("monday", "tuesday"))], {"is_case_sensitive": 1, **C_UTF8}, name="noop",
         opsets=(10,)),
    Case("StringNormalizer", [Lit(WEEK)], {"is_case_sensitive": 1, "stopwords": ["monday"], **C_UTF8},
         name="sensitive_none", opsets=(10,)),
    Case("StringNormalizer", [Lit(WEEK)], {"case_change_action": "LOWER", "is_case_sensitive": 1,
                                           "stopwords": ["monday"], **C_UTF8}, name="sensitive_lower", opsets=(10,)),
    Case("StringNormalizer", [Lit(WEEK)], {"case_change_action": "UPPER", "is_case_sensitive": 1,
                                           "stopwords": ["monday"], **C_UTF8}, name="sensitive_upper", opsets=(10,)),
    Case("StringNormalizer", [Lit(S("Monday", "monday"))], {"case_change_action": "UPPER", "is_case_sensitive": 1,
                                                           "stopwords": ["monday"], **C_UTF8},
         name="sensitive_keeps_other_case", opsets=(10,)),
    Case("StringNormalizer", [Lit(S("monday", "monday"))], {"case_change_action": "UPPER", "is_case_sensitive": 1,
                                                           "stopwords": ["monday"], **C_UTF8},
         name="all_dropped", opsets=(10,)),
    Case("StringNormalizer", [Lit(S("Monday", "MONDAY", shape=(1, 2)))], {"stopwords": ["monday"], **C_UTF8},
         name="all_dropped_2d", opsets=(10,)),
    Case("StringNormalizer", [Lit(S("Monday", "tuesday", "wednesday", "Monday", "tuesday", "wednesday",
                                    shape=(1, 6)))],
         {"case_change_action": "UPPER", "stopwords": ["monday"], **C_UTF8}, name="insensitive_upper_2d",
         opsets=(10,)),
    Case("StringNormalizer", [Lit(S("A", "B", "b", "Cc", shape=(1, 4)))], {"stopwords": ["b"], **C_UTF8},
         name="insensitive_none_keeps_case", opsets=(10,)),
    Case("StringNormalizer", [Lit(S("École", "ÉCOLE", "İ", "ÀB", "x"))],
         {"case_change_action": "LOWER", "stopwords": ["éCOLE"], **C_UTF8}, name="utf8_lower", opsets=(10,)),
    Case("StringNormalizer", [Lit(S("straße", "éa", "ǆ", "中文"))], {"case_change_action": "UPPER", **C_UTF8},
         name="utf8_upper", opsets=(10,)),
    Case("StringNormalizer", [Lit(S("ÉA", "Ab"))], {"case_change_action": "UPPER", "stopwords": ["éa"], **C_UTF8},
         name="utf8_insensitive_upper", opsets=(10,)),
    Case("StringNormalizer", [Lit(S("x", "", "y"))], {"case_change_action": "UPPER", **C_UTF8},
         name="empty_element", opsets=(10,)))


def py_normalize(x, case_change_action="NONE", is_case_sensitive=0, stopwords=(), locale=None):
    """ASCII-only reference of the spec (onnxruntime's rules for stop words and casing)."""
    change = {"LOWER": str.lower, "UPPER": str.upper, "NONE": lambda s: s}[case_change_action]
    compare = (lambda s: s) if is_case_sensitive else (str.upper if case_change_action == "UPPER" else str.lower)
    stops = {compare(w) for w in stopwords}
    kept = [change(s) for s in x.reshape(-1) if compare(s) not in stops] or [""]
    y = np.array(kept, dtype=object)
    return [y.reshape(1, -1) if x.ndim == 2 else y]


# Without a locale (C.UTF-8), with one this machine may lack (falls back), and an empty input.
add(Case("StringNormalizer", [Lit(S("Monday", "Tuesday", "monday", shape=(1, 3)))],
         {"case_change_action": "LOWER", "stopwords": ["MONDAY"]}, name="default_locale_ref", opsets=(10,),
         reference=py_normalize),
    Case("StringNormalizer", [Lit(S("Monday", "Tuesday"))], {"case_change_action": "UPPER", "locale": "en_US"},
         name="missing_locale_ref", opsets=(10,), reference=py_normalize),
    Case("StringNormalizer", [Lit(S("a", "b"))], {"case_change_action": "UPPER", "locale": "xx_NOWHERE.UTF-8"},
         name="bogus_locale_ref", opsets=(10,), reference=py_normalize),
    Case("StringNormalizer", [Lit(np.zeros((0,), dtype=object))], {"stopwords": ["a"]}, name="empty_input_ref",
         opsets=(10,), reference=py_normalize))


# TfIdfVectorizer: the suite's pool, every input type, 1-D and 2-D, modes, skips and gram lengths.
INT_POOL = dict(ngram_counts=[0, 4], ngram_indexes=[0, 1, 2, 3, 4, 5, 6],
                pool_int64s=[2, 3, 5, 4, 5, 6, 7, 8, 6, 7])  # unigrams 2 3 5 4, bigrams (5,6) (7,8) (6,7)
ROWS = np.array([[1, 1, 3, 3, 3, 7], [8, 6, 7, 5, 6, 8]])
FLAT = np.array([1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8])
for dt in (I32, I64):
    tag = np.dtype(dt).name
    for mn, mx, skip in [(1, 1, 0), (2, 2, 0), (1, 2, 0), (2, 2, 5), (1, 2, 5), (1, 2, 1), (2, 2, 1)]:
        add(Case("TfIdfVectorizer", [Lit(FLAT.astype(dt))],
                 dict(mode="TF", min_gram_length=mn, max_gram_length=mx, max_skip_count=skip, **INT_POOL),
                 name=f"tf_{tag}_{mn}{mx}_skip{skip}", opsets=(9,)))
        add(Case("TfIdfVectorizer", [Lit(ROWS.astype(dt))],
                 dict(mode="TF", min_gram_length=mn, max_gram_length=mx, max_skip_count=skip, **INT_POOL),
                 name=f"tf_batch_{tag}_{mn}{mx}_skip{skip}", opsets=(9,)))
WEIGHTS = [0.5, 1.5, 2.0, 0.25, 3.0, 1.0, 4.0]
for mode in ("IDF", "TFIDF"):
    for w in (None, WEIGHTS):
        attrs = dict(mode=mode, min_gram_length=1, max_gram_length=2, max_skip_count=3, **INT_POOL)
        if w:
            attrs["weights"] = w
        name = f"{mode.lower()}{'_weights' if w else ''}"
        add(Case("TfIdfVectorizer", [Lit(ROWS.astype(I64))], attrs, name=name, opsets=(9,)))
        add(Case("TfIdfVectorizer", [Lit(np.concatenate([FLAT, FLAT]).astype(I32))], attrs, name=name + "_1d",
                 opsets=(9,)))
# Permuted and sparse output columns, repeated n-grams in the input, only bigrams in the pool.
# Weights are indexed by output column (as onnxruntime and skl2onnx's idf_ vectors).
add(Case("TfIdfVectorizer", [Lit(np.array([5, 6, 5, 6, 7, 8, 2, 2], I64))],
         dict(mode="TFIDF", min_gram_length=1, max_gram_length=2, max_skip_count=0, ngram_counts=[0, 4],
              ngram_indexes=[6, 0, 5, 2, 4, 1, 3], pool_int64s=INT_POOL["pool_int64s"], weights=WEIGHTS),
         name="permuted", opsets=(9,)),
    Case("TfIdfVectorizer", [Lit(np.array([[5, 6, 5, 6], [7, 8, 2, 2]], I64))],
         dict(mode="IDF", min_gram_length=1, max_gram_length=2, max_skip_count=1, ngram_counts=[0, 4],
              ngram_indexes=[6, 0, 5, 2, 4, 1, 3], pool_int64s=INT_POOL["pool_int64s"], weights=WEIGHTS),
         name="permuted_idf", opsets=(9,)),
    Case("TfIdfVectorizer", [Lit(np.array([5, 6, 5, 6, 7, 8, 2, 2], I64))],
         dict(mode="TF", min_gram_length=1, max_gram_length=2, max_skip_count=0, ngram_counts=[0, 4],
              ngram_indexes=[6, 0, 9, 2, 4, 1, 8], pool_int64s=INT_POOL["pool_int64s"]),
         name="sparse_columns", opsets=(9,)),
    Case("TfIdfVectorizer", [Lit(ROWS.astype(I64))],
         dict(mode="TF", min_gram_length=2, max_gram_length=2, max_skip_count=0, ngram_counts=[0, 0],
              ngram_indexes=[0, 1, 2], pool_int64s=[5, 6, 7, 8, 6, 7]), name="only_bigrams_pool", opsets=(9,)),
    Case("TfIdfVectorizer", [Lit(ROWS.astype(I64))],
         dict(mode="TF", min_gram_length=1, max_gram_length=3, max_skip_count=1, ngram_counts=[0, 2, 6],
              ngram_indexes=[0, 1, 2, 3, 4], pool_int64s=[3, 6, 3, 3, 6, 7, 3, 3, 7]), name="trigrams", opsets=(9,)),
    Case("TfIdfVectorizer", [Lit(np.zeros((3, 0), I64))],
         dict(mode="TF", min_gram_length=1, max_gram_length=2, max_skip_count=0, **INT_POOL), name="empty_rows",
         opsets=(9,)))
STR_POOL = dict(ngram_counts=[0, 3], ngram_indexes=[0, 1, 2, 3, 4],
                pool_strings=["a", "b", "的", "a", "b", "b", "的"])
WORDS = S("a", "b", "b", "的", "a", "c", "a", "b", "的", "x", "a", "b")
for mn, mx, skip in [(1, 1, 0), (2, 2, 0), (1, 2, 2)]:
    add(Case("TfIdfVectorizer", [Lit(WORDS)],
             dict(mode="TF", min_gram_length=mn, max_gram_length=mx, max_skip_count=skip, **STR_POOL),
             name=f"str_{mn}{mx}_skip{skip}", opsets=(9,)),
        Case("TfIdfVectorizer", [Lit(WORDS.reshape(3, 4))],
             dict(mode="TFIDF", min_gram_length=mn, max_gram_length=mx, max_skip_count=skip,
                  weights=[1.0, 2.0, 3.0, 4.0, 5.0], **STR_POOL),
             name=f"str_batch_tfidf_{mn}{mx}_skip{skip}", opsets=(9,)))

test_op = make_test(CASES)


# Errors: the message names what is wrong (the runtime adds model and node).
def session(op, attrs, x, opset):
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    dtype = onnx.TensorProto.STRING if x.dtype == object else helper.np_dtype_to_tensor_dtype(x.dtype)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", dtype, list(x.shape))],
                              [helper.make_empty_tensor_value_info("y")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    return ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def test_regex_invalid_pattern_names_pattern_and_reason():
    with pytest.raises(ferry.FerryError, match=r"\"\(a\" is not a valid RE2 pattern: missing \)"):
        session("RegexFullMatch", {"pattern": "(a"}, S("a"), 20)


def test_string_normalizer_rejects_batched_input():
    node = helper.make_node("StringNormalizer", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.STRING, None)],
                              [helper.make_empty_tensor_value_info("y")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)])
    model.ir_version = 9
    sess = ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    with pytest.raises(ferry.FerryError, match=r"input 'X' has shape \[2,3\], expected \[C\] or \[1, C\]"):
        sess.run(None, {"x": S(*"abcdef", shape=(2, 3))})


def test_tfidf_pool_must_match_input_type():
    sess = session("TfIdfVectorizer", dict(mode="TF", min_gram_length=1, max_gram_length=1, max_skip_count=0,
                                           ngram_counts=[0], ngram_indexes=[0], pool_strings=["a"]),
                   np.array([1, 2], I64), 9)
    with pytest.raises(ferry.FerryError, match="pool_strings"):
        sess.run(None, {"x": np.array([1, 2], I64)})


def test_tfidf_ngram_indexes_too_short():
    with pytest.raises(ferry.FerryError, match="'ngram_indexes' has only 1 entries"):
        session("TfIdfVectorizer", dict(mode="TF", min_gram_length=1, max_gram_length=1, max_skip_count=0,
                                        ngram_counts=[0], ngram_indexes=[0], pool_int64s=[1, 2]),
                np.array([1, 2], I64), 9)


def test_tfidf_weights_one_per_ngram():
    with pytest.raises(ferry.FerryError, match="'weights' has 2 values, expected one per n-gram"):
        session("TfIdfVectorizer", dict(mode="TFIDF", min_gram_length=1, max_gram_length=1, max_skip_count=0,
                                        ngram_counts=[0], ngram_indexes=[0], pool_int64s=[1], weights=[1.0, 2.0]),
                np.array([1, 2], I64), 9)


@pytest.mark.parametrize("index", [2**63 - 1, 2**62])  # caught by inference / by the kernel
def test_tfidf_absurd_output_columns(index):
    with pytest.raises(ferry.FerryError, match=f"'ngram_indexes' holds {index}"):
        session("TfIdfVectorizer", dict(mode="TF", min_gram_length=1, max_gram_length=1, max_skip_count=0,
                                        ngram_counts=[0], ngram_indexes=[index], pool_int64s=[1]),
                np.array([1, 2], I64), 9)


def test_string_normalizer_invalid_utf8():
    sess = session("StringNormalizer", {"case_change_action": "UPPER"}, S("a", "b"), 10)
    with pytest.raises(ferry.FerryError, match="element 1 of input 'X' is not valid UTF-8"):
        sess.run(None, {"x": np.array([b"ok", b"\xff\xfe"], dtype=object)})


def test_string_concat_rejects_numbers():
    node = helper.make_node("StringConcat", ["x", "y"], ["z"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, onnx.TensorProto.STRING, None) for n in "xy"],
                              [helper.make_empty_tensor_value_info("z")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    sess = ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    with pytest.raises(ferry.FerryError, match="string"):
        sess.run(None, {"x": S("a"), "y": np.array([1.0], F32)})

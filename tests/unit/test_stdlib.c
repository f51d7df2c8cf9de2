/* tests/unit/test_stdlib.c — every built-in of LANGUAGE.md §9 through
 * bi_table: the happy paths, the edge cases the spec names, and each error
 * kind (type, index, arith, and memory for the size limits).  The collector
 * runs at every allocation (stress mode). */
#include <math.h>

#include "valtest.h"

#define I(x) v_int(x)
#define F(x) v_float(x)

/* a two-argument built-in that answers true or false: name(a, b), the
 * arguments as JSON text */
typedef struct Predicate {
  const char *name, *a, *b;
  bool want;
} Predicate;

static void expect_predicates(const Predicate *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    Value r = call(p[i].name, 2, J(p[i].a), J(p[i].b));
    if (r.t != V_BOOL || r.u.b != p[i].want)
      fail_msg("%s(%s, %s) gave %s", p[i].name, p[i].a, p[i].b, to_json(r, false));
  }
}

static void test_table(void **state) {
  (void)state;
  for (int i = 0; i < BI__COUNT; i++) assert_non_null(bi_table[i]);
  assert_string_equal(bi_names[BI_len], "len");
  assert_string_equal(bi_names[BI_sha256], "sha256");
  assert_string_equal(bi_names[BI__COUNT - 1], "sha256");
}

static void test_len_type_str(void **state) {
  (void)state;
  assert_int_equal(call("len", 1, S("h\xc3\xa9llo")).u.i, 5);
  assert_int_equal(call("len", 1, S("")).u.i, 0);
  assert_int_equal(call("len", 1, J("[1, [2, 3]]")).u.i, 2);
  assert_int_equal(call("len", 1, J("{\"a\": 1, \"b\": 2}")).u.i, 2);
  call_err("type", "len(): argument 1 must be a string, a list or a map, found int", "len", 1, I(3));

  assert_string_equal(AS_STR(call("type", 1, F(1)))->s, "float");
  assert_string_equal(AS_STR(call("type", 1, v_nil()))->s, "nil");
  assert_string_equal(AS_STR(call("type", 1, J("{}")))->s, "map");

  assert_string_equal(AS_STR(call("str", 1, I(-7)))->s, "-7");
  assert_string_equal(AS_STR(call("str", 1, F(0.1 + 0.2)))->s, "0.30000000000000004");
  assert_string_equal(AS_STR(call("str", 1, F(1e16)))->s, "1e+16");
  assert_string_equal(AS_STR(call("str", 1, v_bool(false)))->s, "false");
  assert_string_equal(AS_STR(call("str", 1, v_nil()))->s, "nil");
  assert_string_equal(AS_STR(call("str", 1, S("as is")))->s, "as is");
  assert_string_equal(AS_STR(call("str", 1, J("{\"b\": [1, \"x\"], \"a\": 2.0}")))->s, "{\"b\":[1,\"x\"],\"a\":2.0}");
  assert_string_equal(AS_STR(call("str", 1, F(NAN)))->s, "nan");
  Value l = J("[1]");
  list_push(vm, AS_LIST(l), l);
  call_err("type", "nested more than", "str", 1, l);
}

static void test_int_float(void **state) {
  (void)state;
  assert_int_equal(call("int", 1, I(5)).u.i, 5);
  assert_int_equal(call("int", 1, F(2.9)).u.i, 2);
  assert_int_equal(call("int", 1, F(-2.9)).u.i, -2);
  assert_int_equal(call("int", 1, F(-9223372036854775808.0)).u.i, INT64_MIN);
  assert_int_equal(call("int", 1, S("-123")).u.i, -123);
  assert_int_equal(call("int", 1, S("+42")).u.i, 42);
  assert_int_equal(call("int", 1, S("007")).u.i, 7);
  assert_int_equal(call("int", 1, S("9223372036854775807")).u.i, INT64_MAX);
  assert_int_equal(call("int", 1, S("-9223372036854775808")).u.i, INT64_MIN);
  call_err("arith", "out of the int range", "int", 1, F(1e300));
  call_err("arith", "out of the int range", "int", 1, F(9223372036854775808.0));
  call_err("arith", "nan", "int", 1, F(NAN));
  call_err("arith", "inf", "int", 1, F(-INFINITY));
  call_err("arith", "out of the int range", "int", 1, S("9223372036854775808"));
  call_err("arith", "out of the int range", "int", 1, S("-99999999999999999999999"));
  static const char *bad[] = {"", "-", "+", " 1", "1 ", "1.0", "1e3", "0x10", "1_000", "abc", "--1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) call_err("type", "not a decimal integer", "int", 1, S(bad[i]));
  call_err("type", "not a decimal integer", "int", 1, SN("1\0002", 3));
  call_err("type", "must be an int, a float or a string", "int", 1, v_bool(true));

  Value f = call("float", 1, I(3));
  assert_int_equal(f.t, V_FLOAT);
  assert_true(f.u.f == 3.0);
  assert_true(call("float", 1, F(2.5)).u.f == 2.5);
  assert_true(call("float", 1, S("2.5")).u.f == 2.5);
  assert_true(call("float", 1, S("-1e-3")).u.f == -1e-3);
  assert_true(call("float", 1, S("+.5")).u.f == 0.5);
  assert_true(call("float", 1, S("5.")).u.f == 5.0);
  assert_true(call("float", 1, S("12")).u.f == 12.0);
  assert_true(call("float", 1, S("1E+2")).u.f == 100.0);
  assert_true(call("float", 1, S("1e-400")).u.f == 0.0);          /* underflow is zero */
  call_err("arith", "out of the float range", "float", 1, S("1e400"));
  static const char *nonum[] = {"", ".", "e5", "1e", "1e+", "nan", "inf", "-Infinity", "0x1p3", " 1", "1 ", "1,5", "1..2"};
  for (size_t i = 0; i < sizeof nonum / sizeof nonum[0]; i++) call_err("type", "not a decimal number", "float", 1, S(nonum[i]));
  call_err("type", "float(): argument 1", "float", 1, v_nil());
}

static void test_maps(void **state) {
  (void)state;
  Value m = J("{\"b\": 1, \"a\": [2], \"c\": null}");
  EXPECT_JSON(call("keys", 1, m), "[\"b\",\"a\",\"c\"]");
  EXPECT_JSON(call("values", 1, m), "[1,[2],null]");
  EXPECT_JSON(call("keys", 1, J("{}")), "[]");
  assert_true(call("has", 2, m, S("c")).u.b);
  assert_false(call("has", 2, m, S("d")).u.b);
  call_err("type", "keys(): argument 1 must be a map, found list", "keys", 1, J("[]"));
  call_err("type", "values()", "values", 1, S("x"));
  call_err("type", "has(): argument 2 must be a string, found int", "has", 2, m, I(1));
  call_err("type", "has(): argument 1 must be a map", "has", 2, J("[]"), S("a"));
}

static void test_contains(void **state) {
  (void)state;
  static const Predicate cases[] = {
      {"contains", "[1, \"a\", [2]]", "1.0", true},
      {"contains", "[1, \"a\", [2]]", "[2.0]", true},
      {"contains", "[1, \"a\"]", "\"b\"", false},
      {"contains", "{\"k\": 1}", "\"k\"", true},
      {"contains", "{\"k\": 1}", "\"v\"", false},
      {"contains", "\"h\xc3\xa9llo\"", "\"\xc3\xa9l\"", true},
      {"contains", "\"abc\"", "\"\"", true},
      {"contains", "\"abc\"", "\"abcd\"", false},
  };
  expect_predicates(cases, sizeof cases / sizeof cases[0]);
  call_err("type", "", "contains", 2, S("abc"), I(1));
  call_err("type", "", "contains", 2, J("{}"), I(1));
  call_err("type", "", "contains", 2, I(1), I(1));
}

static void test_append_pop(void **state) {
  (void)state;
  Value l = J("[]");
  for (int i = 0; i < 100; i++) assert_int_equal(call("append", 2, l, I(i)).t, V_NIL);
  call("append", 2, l, S("last"));
  assert_int_equal(AS_LIST(l)->n, 101);
  assert_string_equal(AS_STR(call("pop", 1, l))->s, "last");
  assert_int_equal(call("pop", 1, l).u.i, 99);
  assert_int_equal(AS_LIST(l)->n, 99);
  call("append", 2, l, l);                               /* a list may hold itself */
  assert_true(call("pop", 1, l).u.o == l.u.o);
  Value e = J("[1]");
  call("pop", 1, e);
  call_err("index", "pop(): the list is empty", "pop", 1, e);
  call_err("type", "append(): argument 1 must be a list", "append", 2, S("x"), I(1));
  call_err("type", "pop(): argument 1 must be a list, found map", "pop", 1, J("{}"));
}

static void test_range(void **state) {
  (void)state;
  EXPECT_JSON(call("range", 1, I(5)), "[0,1,2,3,4]");
  EXPECT_JSON(call("range", 1, I(0)), "[]");
  EXPECT_JSON(call("range", 1, I(-3)), "[]");
  EXPECT_JSON(call("range", 2, I(-2), I(2)), "[-2,-1,0,1]");
  EXPECT_JSON(call("range", 2, I(3), I(3)), "[]");
  EXPECT_JSON(call("range", 2, I(5), I(1)), "[]");
  EXPECT_JSON(call("range", 2, I(INT64_MAX - 2), I(INT64_MAX)), "[9223372036854775805,9223372036854775806]");
  EXPECT_JSON(call("range", 2, I(INT64_MAX), I(INT64_MIN)), "[]");
  call_err("type", "range(): argument 2 must be an int, found float", "range", 2, I(1), F(3));
  EXPECT_OOM("list too long", call("range", 2, I(INT64_MIN), I(INT64_MAX)));
}

static void test_sort(void **state) {
  (void)state;
  EXPECT_JSON(call("sort", 1, J("[3, 1.5, -2, 1, 1.0, 2]")), "[-2,1,1.0,1.5,2,3]");  /* stable */
  EXPECT_JSON(call("sort", 1, J("[]")), "[]");
  EXPECT_JSON(call("sort", 1, J("[\"b\", \"\xc3\xa9\", \"B\", \"a\", \"\", \"ab\"]")),
              "[\"\",\"B\",\"a\",\"ab\",\"b\",\"\xc3\xa9\"]");
  /* the argument is untouched */
  Value l = J("[3, 2, 1]");
  call("sort", 1, l);
  EXPECT_JSON(l, "[3,2,1]");
  /* exact comparison of big ints against floats */
  Value big = J("[9007199254740993, 9007199254740992.0, 9007199254740992]");
  EXPECT_JSON(call("sort", 1, big), "[9007199254740992.0,9007199254740992,9007199254740993]");
  /* NaN sorts last */
  Value n = J("[2, 1]");
  list_push(vm, AS_LIST(n), v_float(NAN));
  list_push(vm, AS_LIST(n), v_int(0));
  Value sn = call("sort", 1, n);
  assert_int_equal(AS_LIST(sn)->v[0].u.i, 0);
  assert_true(isnan(AS_LIST(sn)->v[3].u.f));
  call_err("type", "only numbers or only strings", "sort", 1, J("[1, \"a\"]"));
  call_err("type", "only numbers or only strings", "sort", 1, J("[\"a\", 1]"));
  call_err("type", "only numbers or only strings", "sort", 1, J("[null]"));
  call_err("type", "only numbers or only strings", "sort", 1, J("[[1], [0]]"));
  call_err("type", "sort(): argument 1 must be a list", "sort", 1, S("cba"));
  /* a bigger stable sort: pairs (key, position) by key */
  List *big2 = list_new(vm, 0);
  keep(v_obj(&big2->h));
  for (int i = 0; i < 5000; i++) list_push(vm, big2, v_int((i * 7919) % 1000));
  Value s2 = call("sort", 1, v_obj(&big2->h));
  for (uint32_t i = 1; i < 5000; i++) assert_true(AS_LIST(s2)->v[i - 1].u.i <= AS_LIST(s2)->v[i].u.i);
}

static void test_join_split(void **state) {
  (void)state;
  assert_string_equal(AS_STR(call("join", 2, J("[1, 2.0, \"x\", null, true, [1, \"y\"]]"), S(", ")))->s,
                      "1, 2.0, x, nil, true, [1,\"y\"]");
  assert_string_equal(AS_STR(call("join", 2, J("[]"), S("-")))->s, "");
  assert_string_equal(AS_STR(call("join", 2, J("[\"a\"]"), S("-")))->s, "a");
  call_err("type", "join(): argument 2 must be a string", "join", 2, J("[]"), I(1));

  EXPECT_JSON(call("split", 2, S("a,b,,c,"), S(",")), "[\"a\",\"b\",\"\",\"c\",\"\"]");
  EXPECT_JSON(call("split", 2, S(""), S(",")), "[\"\"]");
  EXPECT_JSON(call("split", 2, S("abc"), S("abc")), "[\"\",\"\"]");
  EXPECT_JSON(call("split", 2, S("x--y----z"), S("--")), "[\"x\",\"y\",\"\",\"z\"]");
  EXPECT_JSON(call("split", 2, S("h\xc3\xa9\xe2\x82\xac" "a\xe2\x82\xac"), S("\xe2\x82\xac")), "[\"h\xc3\xa9\",\"a\",\"\"]");
  call_err("type", "separator must not be empty", "split", 2, S("abc"), S(""));
  call_err("type", "split(): argument 1 must be a string", "split", 2, I(1), S(","));
}

static void test_case_trim(void **state) {
  (void)state;
  assert_string_equal(AS_STR(call("upper", 1, S("abc-XYZ \xc3\xa9z")))->s, "ABC-XYZ \xc3\xa9Z");
  assert_string_equal(AS_STR(call("lower", 1, S("ABC-xyz \xc3\x89Z")))->s, "abc-xyz \xc3\x89z");
  assert_string_equal(AS_STR(call("upper", 1, S("")))->s, "");
  assert_string_equal(AS_STR(call("trim", 1, S(" \t\n\r\v\fa b\t \n")))->s, "a b");
  assert_string_equal(AS_STR(call("trim", 1, S("   ")))->s, "");
  assert_string_equal(AS_STR(call("trim", 1, S("x")))->s, "x");
  assert_string_equal(AS_STR(call("trim", 1, S("\xc2\xa0x\xc2\xa0")))->s, "\xc2\xa0x\xc2\xa0");   /* ASCII only */
  call_err("type", "upper(): argument 1 must be a string, found list", "upper", 1, J("[]"));
  call_err("type", "lower()", "lower", 1, I(1));
  call_err("type", "trim()", "trim", 1, v_nil());
}

static void test_starts_ends_replace(void **state) {
  (void)state;
  static const Predicate cases[] = {
      {"starts_with", "\"hello\"", "\"he\"", true},
      {"starts_with", "\"hello\"", "\"\"", true},
      {"starts_with", "\"he\"", "\"hello\"", false},
      {"ends_with", "\"hello\"", "\"llo\"", true},
      {"ends_with", "\"hello\"", "\"hel\"", false},
      {"ends_with", "\"x\"", "\"\"", true},
  };
  expect_predicates(cases, sizeof cases / sizeof cases[0]);
  call_err("type", "starts_with(): argument 2", "starts_with", 2, S("x"), I(1));
  call_err("type", "ends_with(): argument 1", "ends_with", 2, I(1), S("x"));

  assert_string_equal(AS_STR(call("replace", 3, S("a-b-c"), S("-"), S("+=")))->s, "a+=b+=c");
  assert_string_equal(AS_STR(call("replace", 3, S("aaaa"), S("aa"), S("b")))->s, "bb");
  assert_string_equal(AS_STR(call("replace", 3, S("abc"), S("x"), S("y")))->s, "abc");
  assert_string_equal(AS_STR(call("replace", 3, S("abc"), S("b"), S("")))->s, "ac");
  assert_string_equal(AS_STR(call("replace", 3, S("\xc3\xa9t\xc3\xa9"), S("\xc3\xa9"), S("e")))->s, "ete");
  call_err("type", "must not be empty", "replace", 3, S("abc"), S(""), S("x"));
  call_err("type", "replace(): argument 3", "replace", 3, S("abc"), S("a"), I(1));
}

static void test_substr_find(void **state) {
  (void)state;
  Value s = S("h\xc3\xa9llo w\xc3\xb6rld");                 /* 11 characters */
  assert_string_equal(AS_STR(call("substr", 3, s, I(1), I(4)))->s, "\xc3\xa9llo");
  assert_string_equal(AS_STR(call("substr", 3, s, I(7), I(100)))->s, "\xc3\xb6rld");
  assert_string_equal(AS_STR(call("substr", 3, s, I(0), I(0)))->s, "");
  assert_string_equal(AS_STR(call("substr", 3, s, I(11), I(3)))->s, "");
  assert_string_equal(AS_STR(call("substr", 3, s, I(50), I(3)))->s, "");
  assert_string_equal(AS_STR(call("substr", 3, s, I(2), I(-1)))->s, "");
  assert_string_equal(AS_STR(call("substr", 3, s, I(-2), I(4)))->s, "h\xc3\xa9");   /* window [-2, 2) */
  assert_string_equal(AS_STR(call("substr", 3, s, I(-5), I(INT64_MAX)))->s, "h\xc3\xa9llo w\xc3\xb6rld");
  assert_string_equal(AS_STR(call("substr", 3, s, I(INT64_MAX), I(INT64_MAX)))->s, "");
  assert_string_equal(AS_STR(call("substr", 3, s, I(INT64_MIN), I(INT64_MAX)))->s, "");
  assert_string_equal(AS_STR(call("substr", 3, S("abcdef"), I(2), I(3)))->s, "cde");
  call_err("type", "substr(): argument 2 must be an int, found float", "substr", 3, s, F(1), I(2));

  assert_int_equal(call("find", 2, s, S("w\xc3\xb6")).u.i, 6);
  assert_int_equal(call("find", 2, s, S("l")).u.i, 2);
  assert_int_equal(call("find", 2, s, S("")).u.i, 0);
  assert_int_equal(call("find", 2, s, S("xyz")).u.i, -1);
  assert_int_equal(call("find", 2, S(""), S("a")).u.i, -1);
  assert_int_equal(call("find", 2, S("abcabc"), S("ca")).u.i, 2);
  call_err("type", "find(): argument 2", "find", 2, s, v_nil());
}

static void test_min_max(void **state) {
  (void)state;
  assert_int_equal(call("min", 2, I(3), I(2)).u.i, 2);
  assert_int_equal(call("max", 3, I(3), I(7), I(2)).u.i, 7);
  Value m = call("min", 2, F(1.5), I(2));
  assert_int_equal(m.t, V_FLOAT);
  assert_true(m.u.f == 1.5);
  Value t = call("max", 2, I(1), F(1.0));                 /* equal: the first, as it is */
  assert_int_equal(t.t, V_INT);
  t = call("max", 2, F(1.0), I(1));
  assert_int_equal(t.t, V_FLOAT);
  assert_int_equal(call("min", 1, J("[5, -1, 3]")).u.i, -1);
  assert_true(call("max", 1, J("[5, 5.5, 3]")).u.f == 5.5);
  assert_int_equal(call("max", 1, J("[9007199254740993, 9007199254740992.0]")).u.i, 9007199254740993);
  assert_int_equal(call("min", 1, J("[4]")).u.i, 4);
  /* NaN is greatest */
  assert_true(isnan(call("max", 2, I(1), F(NAN)).u.f));
  assert_int_equal(call("min", 2, F(NAN), I(1)).u.i, 1);
  call_err("index", "min(): the list is empty", "min", 1, J("[]"));
  call_err("index", "max(): the list is empty", "max", 1, J("[]"));
  call_err("type", "not a number", "min", 1, J("[1, \"2\"]"));
  call_err("type", "max(): argument 2 must be a number, found string", "max", 2, I(1), S("2"));
  call_err("type", "min(): argument 1 must be a list", "min", 1, I(3));
  call_err("type", "max(): argument 1 must be a number, found list", "max", 2, J("[1]"), I(2));
}

static void test_abs_round(void **state) {
  (void)state;
  assert_int_equal(call("abs", 1, I(-5)).u.i, 5);
  assert_int_equal(call("abs", 1, I(INT64_MAX)).u.i, INT64_MAX);
  assert_true(call("abs", 1, F(-2.5)).u.f == 2.5);
  assert_false(signbit(call("abs", 1, F(-0.0)).u.f));
  call_err("arith", "does not fit", "abs", 1, I(INT64_MIN));
  call_err("type", "abs(): argument 1 must be a number, found string", "abs", 1, S("-1"));

  assert_int_equal(call("round", 1, F(2.5)).u.i, 3);
  assert_int_equal(call("round", 1, F(-2.5)).u.i, -3);
  assert_int_equal(call("round", 1, F(0.49999999999999994)).u.i, 0);
  assert_int_equal(call("round", 1, F(1.4)).u.i, 1);
  assert_int_equal(call("round", 1, I(7)).u.i, 7);
  assert_int_equal(call("floor", 1, F(-1.5)).u.i, -2);
  assert_int_equal(call("floor", 1, F(1.9)).u.i, 1);
  assert_int_equal(call("ceil", 1, F(-1.5)).u.i, -1);
  assert_int_equal(call("ceil", 1, F(1.1)).u.i, 2);
  assert_int_equal(call("ceil", 1, I(-4)).u.i, -4);
  assert_int_equal(call("round", 1, F(1e18)).u.i, 1000000000000000000);
  call_err("arith", "out of the int range", "round", 1, F(1e19));
  call_err("arith", "out of the int range", "floor", 1, F(-1e300));
  call_err("arith", "out of the int range", "ceil", 1, F(9223372036854775807.0));
  call_err("arith", "nan", "round", 1, F(NAN));
  call_err("arith", "inf", "floor", 1, F(INFINITY));
  call_err("type", "ceil(): argument 1 must be a number", "ceil", 1, S("1"));
}

static void test_sum(void **state) {
  (void)state;
  Value s = call("sum", 1, J("[1, 2, 3]"));
  assert_int_equal(s.t, V_INT);
  assert_int_equal(s.u.i, 6);
  s = call("sum", 1, J("[]"));
  assert_int_equal(s.t, V_INT);
  assert_int_equal(s.u.i, 0);
  s = call("sum", 1, J("[1, 2.5]"));
  assert_int_equal(s.t, V_FLOAT);
  assert_true(s.u.f == 3.5);
  s = call("sum", 1, J("[9223372036854775807, -1]"));
  assert_int_equal(s.u.i, INT64_MAX - 1);
  call_err("arith", "integer overflow", "sum", 1, J("[9223372036854775807, 1]"));
  call_err("arith", "integer overflow", "sum", 1, J("[-9223372036854775808, -1]"));
  call_err("type", "element 1 of the list is string", "sum", 1, J("[1, \"2\"]"));
  call_err("type", "sum(): argument 1 must be a list", "sum", 1, I(1));
}

static void test_json_builtins(void **state) {
  (void)state;
  assert_string_equal(AS_STR(call("json_encode", 1, J("{\"b\": [1, 2.0, \"\\n\"], \"a\": null}")))->s,
                      "{\"b\":[1,2.0,\"\\n\"],\"a\":null}");
  assert_string_equal(AS_STR(call("json_encode", 1, S("x\"y")))->s, "\"x\\\"y\"");
  assert_string_equal(AS_STR(call("json_encode", 1, F(1e-7)))->s, "1e-07");
  assert_string_equal(AS_STR(call("json_encode", 1, v_nil()))->s, "null");
  call_err("type", "nan and inf have no JSON form", "json_encode", 1, F(NAN));
  Value l = J("[1]");
  list_push(vm, AS_LIST(l), v_float(-INFINITY));
  call_err("type", "nan and inf", "json_encode", 1, l);
  Value c = J("[1]");
  list_push(vm, AS_LIST(c), c);
  call_err("type", "contain itself", "json_encode", 1, c);

  Value v = call("json_decode", 1, S("{\"a\": [1, 2.5, 99999999999999999999], \"b\": {\"c\": \"\\u00e9\"}}"));
  EXPECT_JSON(v, "{\"a\":[1,2.5,1e+20],\"b\":{\"c\":\"\xc3\xa9\"}}");
  assert_int_equal(AS_LIST(*map_get_cstr(AS_MAP(v), "a", 1))->v[0].t, V_INT);
  assert_int_equal(call("json_decode", 1, S("3")).u.i, 3);
  call_err("type", "json_decode(): invalid JSON", "json_decode", 1, S("{\"a\": }"));
  call_err("type", "invalid JSON", "json_decode", 1, S(""));
  char deep[2 * (VAL_MAX_DEPTH + 1) + 1];
  for (int i = 0; i <= VAL_MAX_DEPTH; i++) {
    deep[i] = '[';
    deep[2 * (VAL_MAX_DEPTH + 1) - 1 - i] = ']';
  }
  deep[2 * (VAL_MAX_DEPTH + 1)] = 0;
  call_err("type", "nested more than", "json_decode", 1, S(deep));
  deep[VAL_MAX_DEPTH] = ' ';                            /* one level less decodes */
  deep[VAL_MAX_DEPTH + 1] = ' ';
  assert_int_equal(call("json_decode", 1, S(deep)).t, V_LIST);
  call_err("type", "json_decode(): argument 1 must be a string", "json_decode", 1, I(1));
  /* round trip through both built-ins */
  Value src = J("{\"z\": [1, -2.5e-9, \"\xe2\x82\xac\"], \"y\": {\"x\": true}}");
  Value back = call("json_decode", 1, call("json_encode", 1, src));
  assert_true(val_eq(src, back));
}

static void test_sha256_now(void **state) {
  (void)state;
  assert_string_equal(AS_STR(call("sha256", 1, S("")))->s,
                      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert_string_equal(AS_STR(call("sha256", 1, S("abc")))->s,
                      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_int_equal(AS_STR(call("sha256", 1, SN("a\0b", 3)))->len, 64);
  call_err("type", "sha256(): argument 1 must be a string", "sha256", 1, I(1));
  Value t = call("now", 0);
  assert_int_equal(t.t, V_FLOAT);
  assert_true(t.u.f > 1.5e9);
}

/* the size limits raise the uncatchable memory error */
static void test_limits(void **state) {
  (void)state;
  Value l = J("[]");
  for (int i = 0; i < 50; i++) call("append", 2, l, I(i));
  EXPECT_OOM("list too long", call("append", 2, l, I(50)));
  Value big = S("0123456789012345678901234567890123456789012345678901234567890123456789");
  EXPECT_OOM("string too long", call("replace", 3, big, S("0"), S("0000000000")));
  big = S("0123456789012345678901234567890123456789012345678901234567890123456789");
  EXPECT_OOM("string too long", call("join", 2, keep(call("range", 1, I(50))), big));
  EXPECT_OOM("list too long", call("range", 1, I(51)));
  Value s = S(",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,");   /* 51 empty pieces */
  EXPECT_JSON(call("split", 2, S(",,,"), S(",")), "[\"\",\"\",\"\",\"\"]");
  EXPECT_OOM("list too long", call("split", 2, s, S(",")));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_table),
    cmocka_unit_test_setup_teardown(test_len_type_str, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_int_float, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_maps, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_contains, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_append_pop, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_range, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_sort, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_join_split, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_case_trim, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_starts_ends_replace, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_substr_find, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_min_max, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_abs_round, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_sum, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_json_builtins, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_sha256_now, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_limits, vt_setup_small, vt_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

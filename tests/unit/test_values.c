/* tests/unit/test_values.c — vm/value.c and vm/json.c: floats as Python's
 * repr writes them, strings, buffers, lists, maps past the linear-search
 * threshold, deep and numeric equality, the str and JSON text forms
 * (canonical key order, escapes), JSON decoding and its limits, and the
 * memory unwinds.  The collector runs at every allocation (stress mode). */
#include <math.h>

#include "valtest.h"

/* ---- fmt_float ------------------------------------------------------------ */

static void test_fmt_float(void **state) {
  (void)state;
  static const struct { double d; const char *want; } cases[] = {
    {0.1, "0.1"}, {0.2 + 0.1, "0.30000000000000004"}, {1e16, "1e+16"}, {1e-5, "1e-05"},
    {123456789.0, "123456789.0"}, {1.5e-7, "1.5e-07"}, {5e-324, "5e-324"},
    {1.7976931348623157e308, "1.7976931348623157e+308"}, {-0.0, "-0.0"}, {0.0, "0.0"},
    {100.0, "100.0"}, {1e15, "1000000000000000.0"}, {2.0, "2.0"}, {0.0001, "0.0001"},
    {0.00012345, "0.00012345"}, {5e-05, "5e-05"}, {1.5e300, "1.5e+300"},
    {123456789012345.0, "123456789012345.0"}, {9999999999999998.0, "9999999999999998.0"},
    {1e22, "1e+22"}, {1e23, "1e+23"}, {-1.5, "-1.5"}, {1.0 / 3, "0.3333333333333333"},
    {2.0 / 3, "0.6666666666666666"}, {1234567890123456.7, "1234567890123456.8"},
    {2.5e-310, "2.5e-310"}, {4.35, "4.35"}, {-1e-100, "-1e-100"}, {12345.678, "12345.678"},
    {9007199254740993.0, "9007199254740992.0"}, {1e100, "1e+100"}, {0.5, "0.5"},
    {INFINITY, "inf"}, {-INFINITY, "-inf"}, {NAN, "nan"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[32];
    fmt_float(out, cases[i].d);
    assert_string_equal(out, cases[i].want);
  }
}

/* every output reads back as the same double, for many bit patterns */
static void test_fmt_float_round_trip(void **state) {
  (void)state;
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    double d;
    memcpy(&d, &x, sizeof d);
    if (!isfinite(d)) continue;
    char out[32];
    fmt_float(out, d);
    assert_true(strtod(out, NULL) == d);
    assert_true(strchr(out, '.') || strchr(out, 'e'));
  }
}

/* ---- strings --------------------------------------------------------------- */

static void test_strings(void **state) {
  (void)state;
  Value a = S("hello");
  Str *s = AS_STR(a);
  assert_int_equal(s->len, 5);
  assert_true(s->ascii);
  assert_int_equal(str_hash(s), str_hash_bytes("hello", 5));
  assert_int_equal(str_chars(s), 5);
  assert_int_equal(str_char_offset(s, 3), 3);
  assert_int_equal(str_char_offset(s, 5), 5);

  Value u = S("h\xc3\xa9llo \xe2\x82\xac!");          /* "héllo €!" */
  Str *t = AS_STR(u);
  assert_false(t->ascii);
  assert_int_equal(str_chars(t), 8);
  assert_int_equal(str_char_offset(t, 1), 1);
  assert_int_equal(str_char_offset(t, 2), 3);
  assert_int_equal(str_char_offset(t, 6), 7);
  assert_int_equal(str_char_offset(t, 7), 10);
  assert_int_equal(str_char_offset(t, 8), 11);

  Value z = SN("a\0b", 3);                               /* NULs are bytes like any other */
  assert_int_equal(AS_STR(z)->len, 3);
  assert_int_equal(AS_STR(z)->s[3], 0);

  Value c = keep(v_obj(&str_concat(vm, s, t)->h));
  assert_string_equal(AS_STR(c)->s, "helloh\xc3\xa9llo \xe2\x82\xac!");
  assert_false(AS_STR(c)->ascii);
  assert_int_equal(str_hash(AS_STR(c)), str_hash_bytes(AS_STR(c)->s, AS_STR(c)->len));
  assert_true(str_eq(AS_STR(c), AS_STR(S("helloh\xc3\xa9llo \xe2\x82\xac!"))));
  assert_false(str_eq(s, AS_STR(S("hellp"))));
  assert_false(str_eq(s, AS_STR(S("hell"))));
  assert_true(AS_STR(keep(v_obj(&str_concat(vm, s, s)->h)))->ascii);
  Value e = S("");
  assert_int_equal(str_chars(AS_STR(e)), 0);
  assert_true(str_eq(AS_STR(e), AS_STR(keep(v_obj(&str_concat(vm, AS_STR(e), AS_STR(e))->h)))));
}

static void test_strbuf(void **state) {
  (void)state;
  StrBuf b;
  strbuf_init(vm, &b);
  for (int i = 0; i < 1000; i++) strbuf_printf(&b, "%d,", i);
  strbuf_addc(&b, '!');
  char big[300];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  strbuf_printf(&b, "%s", big);                       /* longer than printf's small buffer */
  Str *s = strbuf_done(&b);
  assert_int_equal(s->len, 3890 + 1 + 299);
  assert_memory_equal(s->s, "0,1,2,3,", 8);
  assert_int_equal(s->s[3890], '!');
  assert_int_equal(s->s[s->len - 1], 'x');
  assert_int_equal(str_hash(s), str_hash_bytes(s->s, s->len));

  StrBuf e;
  strbuf_init(vm, &e);
  assert_int_equal(strbuf_done(&e)->len, 0);
  StrBuf f;
  strbuf_init(vm, &f);
  strbuf_add(&f, "abc", 3);
  strbuf_free(&f);
}

/* ---- lists and maps -------------------------------------------------------- */

static void test_lists(void **state) {
  (void)state;
  List *l = list_new(vm, 0);
  keep(v_obj(&l->h));
  for (int i = 0; i < 1000; i++) list_push(vm, l, i % 2 ? v_int(i) : v_obj(&str_cstr(vm, "x")->h));
  assert_int_equal(l->n, 1000);
  assert_int_equal(l->v[999].u.i, 999);
  assert_string_equal(AS_STR(l->v[998])->s, "x");
  List *m = list_new(vm, 3);
  assert_int_equal(m->cap, 3);
  assert_int_equal(m->n, 0);
}

static void test_map_order_and_growth(void **state) {
  (void)state;
  Map *m = map_new(vm, 0);
  keep(v_obj(&m->h));
  char key[32];
  for (int i = 0; i < 1000; i++) {
    snprintf(key, sizeof key, "k%d", (i * 7919) % 1000);
    map_set(vm, m, str_cstr(vm, key), v_int(i));
    if (i == 7) assert_int_equal(m->icap, 0);        /* linear while small */
    if (i == 8) assert_true(m->icap >= 18);
  }
  assert_int_equal(m->n, 1000);
  assert_true(m->icap >= 2000 && (m->icap & (m->icap - 1)) == 0);
  for (int i = 0; i < 1000; i++) {
    snprintf(key, sizeof key, "k%d", (i * 7919) % 1000);
    Value *v = map_get_cstr(m, key, strlen(key));
    assert_non_null(v);
    assert_int_equal(v->u.i, i);
    assert_string_equal(m->e[i].key->s, key);          /* insertion order */
  }
  assert_null(map_get_cstr(m, "k1000", 5));
  assert_null(map_get(m, AS_STR(S("nope"))));
  /* overwriting keeps the position */
  map_set(vm, m, AS_STR(S("k0")), v_bool(true));
  assert_int_equal(m->n, 1000);
  assert_string_equal(m->e[0].key->s, "k0");
  assert_int_equal(m->e[0].val.t, V_BOOL);

  Map *small = map_new(vm, 2);
  keep(v_obj(&small->h));
  map_set(vm, small, AS_STR(S("b")), v_int(1));
  map_set(vm, small, AS_STR(S("a")), v_int(2));
  map_set(vm, small, AS_STR(S("b")), v_int(3));
  EXPECT_JSON(v_obj(&small->h), "{\"b\":3,\"a\":2}");
  assert_int_equal(map_get(small, AS_STR(S("a")))->u.i, 2);
}

/* ---- equality -------------------------------------------------------------- */

static void test_val_eq_numbers(void **state) {
  (void)state;
  assert_true(val_eq(v_int(1), v_float(1.0)));
  assert_true(val_eq(v_float(1.0), v_int(1)));
  assert_false(val_eq(v_int(1), v_float(1.5)));
  assert_true(val_eq(v_float(0.0), v_float(-0.0)));
  assert_true(val_eq(v_int(0), v_float(-0.0)));
  assert_false(val_eq(v_float(NAN), v_float(NAN)));
  assert_false(val_eq(v_int(0), v_float(NAN)));
  /* 2^53 + 1 is not a double: no lossy conversion makes them equal */
  int64_t p53 = (int64_t)1 << 53;
  assert_false(val_eq(v_int(p53 + 1), v_float((double)(p53 + 1))));
  assert_true(val_eq(v_int(p53), v_float((double)p53)));
  assert_false(val_eq(v_int(INT64_MAX), v_float(9223372036854775808.0)));
  assert_true(val_eq(v_int(INT64_MIN), v_float(-9223372036854775808.0)));
  assert_false(val_eq(v_int(INT64_MAX), v_float(INFINITY)));
  assert_false(val_eq(v_int(-3), v_float(-3.5)));

  assert_int_equal(num_cmp(v_int(p53 + 1), v_float((double)p53)), 1);
  assert_int_equal(num_cmp(v_float((double)p53), v_int(p53 + 1)), -1);
  assert_int_equal(num_cmp(v_int(-3), v_float(-3.5)), 1);
  assert_int_equal(num_cmp(v_int(-4), v_float(-3.5)), -1);
  assert_int_equal(num_cmp(v_int(3), v_float(3.25)), -1);
  assert_int_equal(num_cmp(v_int(INT64_MAX), v_float(INFINITY)), -1);
  assert_int_equal(num_cmp(v_int(INT64_MIN), v_float(-INFINITY)), 1);
  assert_int_equal(num_cmp(v_float(NAN), v_int(5)), 1);          /* NaN sorts last */
  assert_int_equal(num_cmp(v_float(INFINITY), v_float(NAN)), -1);
  assert_int_equal(num_cmp(v_float(NAN), v_float(NAN)), 0);
  assert_int_equal(num_cmp(v_int(2), v_int(2)), 0);
}

static void test_val_eq_deep(void **state) {
  (void)state;
  assert_true(val_eq(v_nil(), v_nil()));
  assert_false(val_eq(v_nil(), v_bool(false)));
  assert_false(val_eq(v_int(0), v_bool(false)));
  assert_false(val_eq(S("1"), v_int(1)));
  assert_true(val_eq(S("abc"), S("abc")));
  assert_true(val_eq(J("[1, [2.0, \"x\"], {\"a\": null}]"), J("[1.0, [2, \"x\"], {\"a\": null}]")));
  assert_false(val_eq(J("[1, 2]"), J("[1, 2, 3]")));
  assert_false(val_eq(J("[1, 2]"), J("[2, 1]")));
  assert_true(val_eq(J("{\"a\": 1, \"b\": [true]}"), J("{\"b\": [true], \"a\": 1}")));   /* order does not matter */
  assert_false(val_eq(J("{\"a\": 1}"), J("{\"a\": 1, \"b\": 2}")));
  assert_false(val_eq(J("{\"a\": 1, \"c\": 2}"), J("{\"a\": 1, \"b\": 2}")));
  assert_false(val_eq(J("{\"a\": 1}"), J("{\"a\": 2}")));
  assert_false(val_eq(J("[]"), J("{}")));
  assert_true(val_eq(J("[]"), J("[]")));

  /* a list that contains itself equals itself and terminates against a copy */
  Value l = J("[1]");
  list_push(vm, AS_LIST(l), l);
  assert_true(val_eq(l, l));
  Value m = J("[1]");
  list_push(vm, AS_LIST(m), m);
  assert_false(val_eq(l, m));

  /* deep but finite structures compare */
  Value a = J("[]"), b = J("[]");
  for (int i = 0; i < 500; i++) {
    List *x = list_new(vm, 1);
    list_push(vm, x, a);
    a = keep(v_obj(&x->h));
    List *y = list_new(vm, 1);
    list_push(vm, y, b);
    b = keep(v_obj(&y->h));
  }
  assert_true(val_eq(a, b));
}

static void test_type_names(void **state) {
  (void)state;
  assert_string_equal(val_type_name(v_nil()), "nil");
  assert_string_equal(val_type_name(v_bool(true)), "bool");
  assert_string_equal(val_type_name(v_int(1)), "int");
  assert_string_equal(val_type_name(v_float(1)), "float");
  assert_string_equal(val_type_name(S("")), "string");
  assert_string_equal(val_type_name(J("[]")), "list");
  assert_string_equal(val_type_name(J("{}")), "map");
}

/* ---- text forms ------------------------------------------------------------ */

static void test_str_form(void **state) {
  (void)state;
  assert_string_equal(to_str(v_nil()), "nil");
  assert_string_equal(to_str(v_bool(true)), "true");
  assert_string_equal(to_str(v_bool(false)), "false");
  assert_string_equal(to_str(v_int(-42)), "-42");
  assert_string_equal(to_str(v_int(INT64_MIN)), "-9223372036854775808");
  assert_string_equal(to_str(v_float(2)), "2.0");
  assert_string_equal(to_str(v_float(1e-5)), "1e-05");
  assert_string_equal(to_str(v_float(NAN)), "nan");
  assert_string_equal(to_str(v_float(-INFINITY)), "-inf");
  assert_string_equal(to_str(S("a \"q\"\n")), "a \"q\"\n");
  assert_string_equal(to_str(J("[1, 2.5, \"a\", null, true, {\"k\": [1e16]}]")),
                      "[1,2.5,\"a\",null,true,{\"k\":[1e+16]}]");
}

static void test_json_form(void **state) {
  (void)state;
  EXPECT_JSON(S("q\" b\\ \n\r\t\b\f \x01\x1f\x7f \xc3\xa9 /"),
              "\"q\\\" b\\\\ \\n\\r\\t\\b\\f \\u0001\\u001f\x7f \xc3\xa9 /\"");
  EXPECT_JSON(SN("a\0b", 3), "\"a\\u0000b\"");
  EXPECT_JSON(J("{\"b\": 1, \"a\": [2.0, -0.0, 1e100]}"), "{\"b\":1,\"a\":[2.0,-0.0,1e+100]}");
  EXPECT_JSON(J("[]"), "[]");
  EXPECT_JSON(J("{}"), "{}");
  EXPECT_JSON(v_float(NAN), "null");                  /* no JSON form: null (json_encode raises) */
  EXPECT_JSON(v_float(INFINITY), "null");
  EXPECT_JSON(v_int(INT64_MAX), "9223372036854775807");
}

static void test_json_canonical(void **state) {
  (void)state;
  Value v = J("{\"b\": 1, \"\xc3\xa9\": 2, \"a\": {\"z\": 1, \"y\": [{\"d\": 1, \"c\": 2}]}, "
              "\"A\": 3, \"aa\": 4, \"z\": 5, \"\xe2\x82\xac\": 6, \"\": 7}");
  assert_string_equal(to_json(v, true),
                      "{\"\":7,\"A\":3,\"a\":{\"y\":[{\"c\":2,\"d\":1}],\"z\":1},\"aa\":4,\"b\":1,\"z\":5,"
                      "\"\xc3\xa9\":2,\"\xe2\x82\xac\":6}");
  /* insertion order when not canonical */
  assert_string_equal(to_json(J("{\"b\": 1, \"a\": 2}"), false), "{\"b\":1,\"a\":2}");
  /* the same map built in another order gives the same canonical text */
  char first[8192];
  snprintf(first, sizeof first, "%s", to_json(J("{\"x\": [1, {\"q\": 1, \"p\": 2}], \"w\": null}"), true));
  assert_string_equal(first, to_json(J("{\"w\": null, \"x\": [1, {\"p\": 2, \"q\": 1}]}"), true));
  assert_string_equal(first, "{\"w\":null,\"x\":[1,{\"p\":2,\"q\":1}]}");
}

static void test_text_depth(void **state) {
  (void)state;
  Value l = J("[1]");
  list_push(vm, AS_LIST(l), l);                         /* contains itself */
  StrBuf b;
  strbuf_init(vm, &b);
  assert_int_equal(val_json_checked(&b, l, false, false), VAL_EDEEP);
  strbuf_free(&b);
  strbuf_init(vm, &b);
  assert_int_equal(val_str_checked(&b, l), VAL_EDEEP);
  strbuf_free(&b);
  strbuf_init(vm, &b);
  assert_int_equal(val_json_checked(&b, J("[1.5, [2]]"), false, true), VAL_OK);
  strbuf_free(&b);
  Value n = J("[1.5, []]");
  list_push(vm, AS_LIST(AS_LIST(n)->v[1]), v_float(NAN));
  strbuf_init(vm, &b);
  assert_int_equal(val_json_checked(&b, n, true, true), VAL_ENONFINITE);
  strbuf_free(&b);
  /* the public forms unwind with `memory` (after freeing their buffers) */
  EXPECT_OOM("nested", {
    StrBuf c;
    strbuf_init(vm, &c);
    val_json(&c, l, true);
  });
}

/* ---- JSON decoding --------------------------------------------------------- */

static void test_json_decode(void **state) {
  (void)state;
  Value v = J("{\"i\": 42, \"f\": 4.0, \"e\": 1e3, \"n\": -0, \"s\": \"\\u00e9\\u0000x\", \"l\": [true, false, null]}");
  Map *m = AS_MAP(v);
  assert_int_equal(map_get_cstr(m, "i", 1)->t, V_INT);
  assert_int_equal(map_get_cstr(m, "f", 1)->t, V_FLOAT);
  assert_int_equal(map_get_cstr(m, "e", 1)->t, V_FLOAT);
  assert_int_equal(map_get_cstr(m, "n", 1)->t, V_INT);
  Str *s = AS_STR(*map_get_cstr(m, "s", 1));
  assert_int_equal(s->len, 4);
  assert_memory_equal(s->s, "\xc3\xa9\0x", 4);
  EXPECT_JSON(v, "{\"i\":42,\"f\":4.0,\"e\":1000.0,\"n\":0,\"s\":\"\xc3\xa9\\u0000x\",\"l\":[true,false,null]}");
  /* scalars at the top */
  assert_int_equal(J("7").u.i, 7);
  assert_int_equal(J("\"x\"").t, V_STR);
  assert_int_equal(J("null").t, V_NIL);
  assert_int_equal(J(" true ").t, V_BOOL);
}

static void test_json_big_ints(void **state) {
  (void)state;
  assert_int_equal(J("9223372036854775807").t, V_INT);
  assert_int_equal(J("-9223372036854775808").u.i, INT64_MIN);
  Value big = J("9223372036854775808");
  assert_int_equal(big.t, V_FLOAT);
  assert_true(big.u.f == 9223372036854775808.0);
  assert_int_equal(J("-9223372036854775809").t, V_FLOAT);
  /* only the big one widens; strings that look like numbers are left alone */
  EXPECT_JSON(J("[1, 123456789012345678901234567890, \"123456789012345678901234567890\", -5, 1.5e3, {\"k\": 10}]"),
              "[1,1.2345678901234568e+29,\"123456789012345678901234567890\",-5,1500.0,{\"k\":10}]");
  EXPECT_JSON(J("{\"a\\\"b\": 99999999999999999999}"), "{\"a\\\"b\":1e+20}");
  /* a big integer does not hide a later syntax error */
  Value out;
  char err[256];
  const char *bad = "[99999999999999999999, oops]";
  assert_false(json_to_value(vm, bad, strlen(bad), &out, err, sizeof err));
  assert_non_null(strstr(err, "invalid JSON"));
}

static void test_json_errors(void **state) {
  (void)state;
  static const char *bad[] = {"", "[1,", "{\"a\" 1}", "[1] x", "nan", "1e999", "{'a': 1}", "\"\xff\"", "[01]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    Value out;
    char err[256] = "";
    assert_false(json_to_value(vm, bad[i], strlen(bad[i]), &out, err, sizeof err));
    assert_non_null(strstr(err, "invalid JSON"));
    assert_non_null(strstr(err, "line"));
  }
  /* duplicate keys: the last value wins, in the first key's place */
  EXPECT_JSON(J("{\"a\": 1, \"b\": 2, \"a\": 3}"), "{\"a\":3,\"b\":2}");
}

static char *nested(int depth) {
  char *t = malloc(2 * (size_t)depth + 1);
  for (int i = 0; i < depth; i++) {
    t[i] = '[';
    t[2 * depth - 1 - i] = ']';
  }
  t[2 * depth] = 0;
  return t;
}

static void test_json_depth(void **state) {
  (void)state;
  char *ok = nested(VAL_MAX_DEPTH);
  Value v = J(ok);
  assert_int_equal(v.t, V_LIST);
  StrBuf b;
  strbuf_init(vm, &b);
  assert_int_equal(val_json_checked(&b, v, false, true), VAL_OK);   /* what decodes, encodes */
  strbuf_free(&b);
  free(ok);
  char *deep = nested(VAL_MAX_DEPTH + 1);
  char err[256];
  assert_false(json_to_value(vm, deep, strlen(deep), &v, err, sizeof err));
  assert_non_null(strstr(err, "nested"));
  free(deep);
  char *deeper = nested(100000);                        /* jansson's own limit */
  assert_false(json_to_value(vm, deeper, strlen(deeper), &v, err, sizeof err));
  free(deeper);
}

static void test_json_round_trip(void **state) {
  (void)state;
  static const char *texts[] = {
    "[1,2.5,\"x\",null,true,false,{\"a\":[],\"b\":{}}]",
    "{\"z\":0.1,\"y\":-0.0,\"x\":1e-07,\"w\":\"\\u0001\\n\\\"\",\"\xc3\xa9\":9007199254740993}",
    "[-9223372036854775808,9223372036854775807,1.7976931348623157e+308,5e-324]",
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    Value v = J(texts[i]);
    assert_string_equal(to_json(v, false), texts[i]);
    Value w = J(to_json(v, false));
    assert_true(val_eq(v, w));
  }
}

/* ---- limits and unwinding -------------------------------------------------- */

static void test_limits(void **state) {
  (void)state;
  char text[200];
  memset(text, 'a', sizeof text);
  assert_int_equal(str_new(vm, text, 100)->len, 100);
  EXPECT_OOM("string too long", str_new(vm, text, 101));
  Str *half = str_new(vm, text, 60);
  vm_push_root(vm, v_obj(&half->h));
  EXPECT_OOM("string too long", str_concat(vm, half, half));
  EXPECT_OOM("string too long", {
    StrBuf b;
    strbuf_init(vm, &b);
    for (int i = 0; i < 200; i++) strbuf_addc(&b, 'x');
  });
  EXPECT_OOM("list too long", list_new(vm, 51));
  EXPECT_OOM("list too long", {
    List *l = list_new(vm, 0);
    vm_push_root(vm, v_obj(&l->h));
    for (int i = 0; i < 51; i++) list_push(vm, l, v_int(i));
  });
  EXPECT_OOM("map too large", {
    Map *m = map_new(vm, 0);
    vm_push_root(vm, v_obj(&m->h));
    char k[16];
    for (int i = 0; i < 51; i++) {
      snprintf(k, sizeof k, "%d", i);
      map_set(vm, m, str_cstr(vm, k), v_int(i));
    }
  });
  /* the jansson tree is freed when the conversion unwinds (ASan checks) */
  EXPECT_OOM("list too long", {
    Value v;
    char err[64];
    const char *t = "[[1],[2],[0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,"
                    "0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0]]";
    json_to_value(vm, t, strlen(t), &v, err, sizeof err);
  });
  EXPECT_OOM("heap limit", {
    for (int i = 0; i < 100000; i++) vm_push_root(vm, v_obj(&str_new(vm, text, 90)->h));
  });
}

/* memory failures from the allocator itself unwind cleanly too */
static void test_alloc_failures(void **state) {
  (void)state;
  const char *t = "{\"a\": [1, 2, {\"b\": \"long string that is not short\"}], \"c\": 2.5, \"d\": [\"x\", \"y\"]}";
  for (volatile long n = 1; n < 60; n++) {
    jmp_buf jb;
    vm->oom = &jb;
    if (setjmp(jb) == 0) {
      mem_fail_after(n);
      Value v;
      char err[64];
      if (json_to_value(vm, t, strlen(t), &v, err, sizeof err)) {
        vm_push_root(vm, v);
        StrBuf b;
        strbuf_init(vm, &b);
        val_json(&b, v, true);
        strbuf_free(&b);
        vm_pop_root(vm, 1);
      }
    }
    mem_fail_after(0);
    vm->oom = NULL;
    assert_int_equal(vm->ncleanups, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fmt_float),
    cmocka_unit_test(test_fmt_float_round_trip),
    cmocka_unit_test_setup_teardown(test_strings, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_strbuf, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_lists, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_map_order_and_growth, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_val_eq_numbers, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_val_eq_deep, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_type_names, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_str_form, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_json_form, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_json_canonical, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_text_depth, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_json_decode, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_json_big_ints, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_json_errors, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_json_depth, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_json_round_trip, vt_setup, vt_teardown),
    cmocka_unit_test_setup_teardown(test_limits, vt_setup_small, vt_teardown),
    cmocka_unit_test_setup_teardown(test_alloc_failures, vt_setup, vt_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

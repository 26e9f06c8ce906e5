/* tests/test_wordpiece.c — WordPiece against goldens from the project's Python
 * reference (tests/ref/wordpiece_ref.py via gen_subword_wordpiece.py): the
 * fixture text in three configurations, and >= 10,000 lines of staged Bangla
 * and Hindi text (CRC-32 per block of 10 lines; skipped without ../shared).
 * Plus bad vocab files, invalid UTF-8 and offsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bhasha.h"

#define FIX "tests/fixtures/subword/"

static bh_wordpiece *load_cfg(const char *cfg)
{
    bh_wordpiece_options o;
    bh_wordpiece_options_default(&o);
    if (!strcmp(cfg, "uncased")) {
        o.lower_case = 1;
        o.strip_accents = -1; /* BERT's rule: strip when lowercasing */
    } else if (!strcmp(cfg, "strip")) {
        o.strip_accents = 1;
    }
    bh_wordpiece *w = NULL;
    bh_status st = bh_wordpiece_load(FIX "wp_vocab.txt", &o, &w);
    if (st) fprintf(stderr, "# %s\n", bh_last_error());
    assert_int_equal(st, BH_OK);
    return w;
}

static void ids_line(bh_buf *o, const bh_tokens *t)
{
    for (size_t i = 0; i < t->n; i++) {
        char tmp[16];
        int k = snprintf(tmp, sizeof tmp, i ? " %d" : "%d", (int)t->ids[i]);
        bh_buf_append(o, tmp, (size_t)k);
    }
    bh_buf_append(o, "\n", 1);
}

static void check_golden(const char *cfg)
{
    bh_wordpiece *w = load_cfg(cfg);
    char gpath[128];
    snprintf(gpath, sizeof gpath, FIX "wp_%s.golden", cfg);
    FILE *text = fopen(FIX "wp_text.txt", "rb"), *gold = fopen(gpath, "rb");
    assert_non_null(text);
    assert_non_null(gold);
    char *line = NULL, *g = NULL;
    size_t cap = 0, gcap = 0;
    ssize_t n;
    bh_tokens t = {0};
    bh_buf got = {0};
    long lineno = 0;
    while ((n = getline(&line, &cap, text)) > 0) {
        lineno++;
        ssize_t gn = getline(&g, &gcap, gold);
        assert_true(gn > 0);
        assert_int_equal(bh_wordpiece_encode(w, line, (size_t)n - 1, &t), BH_OK);
        bh_buf_clear(&got);
        ids_line(&got, &t);
        if (got.len != (size_t)gn || memcmp(got.data, g, got.len))
            fail_msg("%s line %ld: got %s want %s", cfg, lineno, got.data, g);
        for (size_t i = 0; i < t.n; i++) {
            assert_true(t.begin[i] <= t.end[i]);
            assert_true(t.end[i] <= (size_t)n - 1);
        }
    }
    assert_int_equal(lineno, 33);
    free(line);
    free(g);
    fclose(text);
    fclose(gold);
    bh_tokens_free(&t);
    bh_buf_free(&got);
    bh_wordpiece_free(w);
}

static void test_golden_cased(void **state) { (void)state; check_golden("cased"); }
static void test_golden_uncased(void **state) { (void)state; check_golden("uncased"); }
static void test_golden_strip(void **state) { (void)state; check_golden("strip"); }

/* Reads the shared test text named in subword_shared.list; NULL when absent. */
static char **shared_lines(size_t *count)
{
    const char *root = getenv("BH_SHARED") ? getenv("BH_SHARED") : "../shared";
    FILE *list = fopen(FIX "subword_shared.list", "r");
    if (!list) return NULL;
    char spec[512], path[1024];
    char **lines = NULL;
    size_t n = 0, cap = 0;
    int ok = 1;
    while (ok && fgets(spec, sizeof spec, list)) {
        char rel[400];
        long want;
        if (spec[0] == '#' || sscanf(spec, "%399s %ld", rel, &want) != 2) continue;
        snprintf(path, sizeof path, "%s/%s", root, rel);
        gzFile f = gzopen(path, "rb");
        if (!f) {
            ok = 0;
            break;
        }
        bh_buf cur = {0};
        char buf[65536];
        long got = 0;
        int k;
        while (got < want && (k = gzread(f, buf, sizeof buf)) > 0) {
            for (int i = 0; i < k && got < want; i++) {
                if (buf[i] != '\n') {
                    bh_buf_append(&cur, buf + i, 1);
                    continue;
                }
                if (n == cap) {
                    cap = cap ? cap * 2 : 1024;
                    lines = realloc(lines, cap * sizeof *lines);
                }
                lines[n++] = strdup(cur.data ? cur.data : "");
                bh_buf_clear(&cur);
                got++;
            }
        }
        bh_buf_free(&cur);
        gzclose(f);
    }
    fclose(list);
    if (!ok) {
        for (size_t i = 0; i < n; i++) free(lines[i]);
        free(lines);
        return NULL;
    }
    *count = n;
    return lines;
}

static void check_shared(const char *cfg)
{
    size_t n = 0;
    char **lines = shared_lines(&n);
    if (!lines) {
        printf("# SKIP %s: staged text not found (set BH_SHARED)\n", cfg);
        skip();
    }
    assert_true(n >= 10000);
    bh_wordpiece *w = load_cfg(cfg);
    char gpath[128];
    snprintf(gpath, sizeof gpath, FIX "wp_shared_%s.golden", cfg);
    FILE *gold = fopen(gpath, "r");
    assert_non_null(gold);
    char g[64];
    assert_non_null(fgets(g, sizeof g, gold)); /* header */
    bh_tokens t = {0};
    bh_buf blob = {0};
    size_t bad = 0, first_bad = 0;
    for (size_t b = 0; b < n; b += 10) {
        bh_buf_clear(&blob);
        for (size_t i = b; i < n && i < b + 10; i++) {
            assert_int_equal(bh_wordpiece_encode(w, lines[i], strlen(lines[i]), &t), BH_OK);
            ids_line(&blob, &t);
        }
        assert_non_null(fgets(g, sizeof g, gold));
        unsigned long want = strtoul(g, NULL, 16);
        unsigned long got = crc32(0L, (const Bytef *)blob.data, (uInt)blob.len);
        if (got != want && !bad++) first_bad = b;
    }
    if (bad) fail_msg("%s: %zu of %zu blocks differ, first at line %zu", cfg, bad, (n + 9) / 10, first_bad + 1);
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(lines);
    fclose(gold);
    bh_tokens_free(&t);
    bh_buf_free(&blob);
    bh_wordpiece_free(w);
}

static void test_shared_cased(void **state) { (void)state; check_shared("cased"); }
static void test_shared_uncased(void **state) { (void)state; check_shared("uncased"); }

static bh_status load_text(const char *vocab, bh_wordpiece **w)
{
    return bh_wordpiece_load_bytes(vocab, strlen(vocab), NULL, w);
}

static void test_bad_vocab(void **state)
{
    (void)state;
    bh_wordpiece *w = NULL;
    assert_int_equal(load_text("[PAD]\n[UNK]\nab\n##c\n", &w), BH_OK);
    assert_int_equal(bh_wordpiece_vocab_size(w), 4);
    bh_wordpiece_free(w);
    w = NULL;
    assert_int_equal(load_text("[UNK]\nab\nab\n", &w), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "duplicate"));
    assert_non_null(strstr(bh_last_error(), "line 3"));
    assert_null(w);
    assert_int_equal(load_text("[PAD]\nab\n", &w), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "[UNK]"));
    assert_int_equal(load_text("[UNK]\n\nab\n", &w), BH_EFORMAT);
    assert_non_null(strstr(bh_last_error(), "line 2"));
    assert_int_equal(load_text("[UNK]\na\xff\n", &w), BH_EFORMAT);
    assert_int_equal(load_text("", &w), BH_EFORMAT);
    assert_int_equal(bh_wordpiece_load_bytes("[UNK]\na\0b\n", 10, NULL, &w), BH_EFORMAT);
    assert_int_equal(bh_wordpiece_load("/nonexistent/vocab.txt", NULL, &w), BH_EIO);
    /* CRLF files and a last line without newline are fine */
    assert_int_equal(load_text("[UNK]\r\nab\r\nc", &w), BH_OK);
    assert_int_equal(bh_wordpiece_token_to_id(w, "c", 1), 2);
    bh_wordpiece_free(w);
}

static void test_encode_cases(void **state)
{
    (void)state;
    bh_wordpiece *w = NULL;
    assert_int_equal(load_text("[UNK]\nun\n##aff\n##able\n,\nরা\n##জা\n", &w), BH_OK);
    bh_tokens t = {0};
    assert_int_equal(bh_wordpiece_encode(w, "unaffable, রাজা xyz", strlen("unaffable, রাজা xyz"), &t), BH_OK);
    int32_t want[] = {1, 2, 3, 4, 5, 6, 0};
    assert_int_equal(t.n, 7);
    assert_memory_equal(t.ids, want, sizeof want);
    /* offsets: "un" [0,2) "##aff" [2,5) "##able" [5,9) "," [9,10) */
    assert_int_equal(t.begin[1], 2);
    assert_int_equal(t.end[1], 5);
    assert_int_equal(t.begin[3], 9);
    assert_int_equal(t.end[3], 10);
    assert_int_equal(t.begin[6], strlen("unaffable, রাজা "));
    assert_int_equal(bh_wordpiece_encode(w, "ab\xff", 3, &t), BH_EUTF8);
    assert_int_equal(t.n, 0);
    assert_int_equal(bh_wordpiece_encode(w, "", 0, &t), BH_OK);
    assert_int_equal(t.n, 0);
    assert_int_equal(bh_wordpiece_encode(w, " \t\n", 3, &t), BH_OK);
    assert_int_equal(t.n, 0);
    /* a 10 MB text: finishes, one unk per word */
    size_t big = 10u << 20;
    char *s = malloc(big);
    assert_non_null(s);
    for (size_t i = 0; i < big; i++) s[i] = (i % 8 == 7) ? ' ' : 'x';
    assert_int_equal(bh_wordpiece_encode(w, s, big, &t), BH_OK);
    assert_int_equal(t.n, big / 8);
    free(s);
    assert_int_equal(bh_wordpiece_strips_marks(w), 0);
    bh_tokens_free(&t);
    bh_wordpiece_free(w);
}

/* The known damage: with accent stripping, Bangla vowel sign u (U+09C1, Mn)
 * and virama (U+09CD, Mn) vanish; without it they stay. */
static void test_accent_damage(void **state)
{
    (void)state;
    bh_wordpiece_options o;
    bh_wordpiece_options_default(&o);
    o.strip_accents = 1;
    const char *vocab = "[UNK]\nক\nকু\nকক\n##্\n##ক\n";
    bh_wordpiece *w = NULL;
    assert_int_equal(bh_wordpiece_load_bytes(vocab, strlen(vocab), &o, &w), BH_OK);
    assert_int_equal(bh_wordpiece_strips_marks(w), 1);
    bh_tokens t = {0};
    assert_int_equal(bh_wordpiece_encode(w, "কু ক্ক", strlen("কু ক্ক"), &t), BH_OK);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.ids[0], 1); /* কু -> ক */
    assert_int_equal(t.ids[1], 3); /* ক্ক -> কক */
    bh_wordpiece_free(w);
    o.strip_accents = 0;
    assert_int_equal(bh_wordpiece_load_bytes(vocab, strlen(vocab), &o, &w), BH_OK);
    assert_int_equal(bh_wordpiece_encode(w, "কু ক্ক", strlen("কু ক্ক"), &t), BH_OK);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.ids[0], 2);
    assert_int_equal(t.ids[1], 1);
    assert_int_equal(t.ids[2], 4);
    assert_int_equal(t.ids[3], 5);
    bh_tokens_free(&t);
    bh_wordpiece_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_cased), cmocka_unit_test(test_golden_uncased),
        cmocka_unit_test(test_golden_strip), cmocka_unit_test(test_shared_cased),
        cmocka_unit_test(test_shared_uncased), cmocka_unit_test(test_bad_vocab),
        cmocka_unit_test(test_encode_cases), cmocka_unit_test(test_accent_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

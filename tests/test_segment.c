/* tests/test_segment.c — sentence, word, akshara and grapheme segmentation.
 *
 * Fixtures in tests/fixtures/segment/ (written for bhasha) hold the hard
 * cases; tests on real text read ../shared/data (or $BH_SHARED/data) and skip
 * when it is absent:
 *  - UD Bengali-BRU: our word tokens of every `# text =` line equal the gold
 *    surface tokens (FORM of multi-word ranges, not their parts);
 *  - agreement with ICU's word-break iterator on raw Bangla and Hindi text,
 *    outside the spans where our documented Indic/web rules differ on purpose;
 *  - sentence recovery on UD Bengali-BRU and on Leipzig Hindi (one sentence
 *    per line, joined into paragraphs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>
#include <unicode/utext.h>
#include <zlib.h>

#include "bhasha.h"

static bh_segmenter *G;

static int setup(void **state)
{
    (void)state;
    return bh_segmenter_new(&G) == BH_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    bh_segmenter_free(G);
    return 0;
}

/* Reads a whole file (gzip or plain) into b; returns 0 when it cannot be opened. */
static int read_all(const char *path, bh_buf *b, size_t limit)
{
    gzFile f = gzopen(path, "rb");
    if (!f) return 0;
    char tmp[65536];
    int n;
    while (b->len < limit && (n = gzread(f, tmp, sizeof tmp)) > 0) bh_buf_append(b, tmp, (size_t)n);
    gzclose(f);
    if (b->len > limit) {
        size_t k = limit;
        while (k > 0 && b->data[k - 1] != '\n') k--;
        b->len = k;
        b->data[k] = 0;
    }
    return 1;
}

static const char *shared_dir(void)
{
    const char *s = getenv("BH_SHARED");
    return s && *s ? s : "../shared";
}

/* Units of text joined by sep (for comparing with fixture lines). */
static void join_units(bh_seg_unit unit, const char *text, size_t len, const char *sep, bh_buf *out)
{
    bh_spans sp = {0};
    bh_buf_clear(out);
    assert_int_equal(bh_segment(G, unit, text, len, &sp), BH_OK);
    for (size_t k = 0; k < sp.n; k++) {
        if (k) bh_buf_append(out, sep, strlen(sep));
        bh_buf_append(out, text + sp.v[k].start, sp.v[k].end - sp.v[k].start);
    }
    bh_buf_append(out, "", 0);
    bh_spans_free(&sp);
}

/* Runs every line of a fixture: input TAB expected... (fields joined by sep). */
static void run_fixture(const char *path, bh_seg_unit unit, const char *sep)
{
    bh_buf f = {0}, got = {0}, want = {0};
    assert_true(read_all(path, &f, SIZE_MAX));
    size_t cases = 0, failed = 0;
    char *save = NULL;
    for (char *line = strtok_r(f.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || !strchr(line, '\t')) continue;
        char *tab = strchr(line, '\t');
        *tab = 0;
        bh_buf_clear(&want);
        for (char *p = tab + 1; *p; p++) {
            if (*p == '\t') bh_buf_append(&want, sep, strlen(sep));
            else bh_buf_append(&want, p, 1);
        }
        bh_buf_append(&want, "", 0);
        join_units(unit, line, strlen(line), sep, &got);
        cases++;
        if (strcmp(got.data ? got.data : "", want.data ? want.data : "") != 0) {
            failed++;
            printf("# %s: input  [%s]\n#   got  [%s]\n#   want [%s]\n", path, line, got.data, want.data);
        }
    }
    printf("# %s: %zu cases, %zu failed\n", path, cases, failed);
    assert_true(cases > 0);
    assert_int_equal(failed, 0);
    bh_buf_free(&f);
    bh_buf_free(&got);
    bh_buf_free(&want);
}

static void test_words_fixture(void **state)
{
    (void)state;
    run_fixture("tests/fixtures/segment/words.tsv", BH_SEG_WORD, " ");
}

static void test_sentences_fixture(void **state)
{
    (void)state;
    run_fixture("tests/fixtures/segment/sentences.tsv", BH_SEG_SENTENCE, "\n");
}

static void test_akshara_fixture(void **state)
{
    (void)state;
    run_fixture("tests/fixtures/segment/akshara.tsv", BH_SEG_AKSHARA, " ");
}

static void test_api(void **state)
{
    (void)state;
    bh_spans sp = {0}, sp2 = {0};
    bh_seg_unit u;
    assert_int_equal(bh_segmenter_new(NULL), BH_EINVAL);
    assert_int_equal(bh_segment(NULL, BH_SEG_WORD, "a", 1, &sp), BH_EINVAL);
    assert_int_equal(bh_segment(G, BH_SEG_WORD, "a", 1, NULL), BH_EINVAL);
    assert_int_equal(bh_segment(G, BH_SEG_WORD, NULL, 3, &sp), BH_EINVAL);
    assert_int_equal(bh_segment(G, (bh_seg_unit)9, "a", 1, &sp), BH_EINVAL);
    assert_int_equal(bh_segment_sentences_words(G, "a", 1, &sp, &sp), BH_EINVAL);
    assert_int_equal(bh_segment(G, BH_SEG_WORD, NULL, 0, &sp), BH_OK);
    assert_int_equal(sp.n, 0);
    assert_int_equal(bh_seg_unit_parse("akshara", &u), BH_OK);
    assert_int_equal(u, BH_SEG_AKSHARA);
    assert_int_equal(bh_seg_unit_parse("syllable", &u), BH_EINVAL);
    assert_string_equal(bh_seg_unit_name(BH_SEG_GRAPHEME), "grapheme");
    assert_string_equal(bh_token_kind_name(BH_TOK_URL), "url");
    assert_string_equal(bh_token_kind_name(99), "other");
    /* kinds */
    const char *t = "ড. ৳৫০০ x@y.com https://a.b #ট @ম 😀 । ক";
    assert_int_equal(bh_segment(G, BH_SEG_WORD, t, strlen(t), &sp), BH_OK);
    int want[] = {BH_TOK_ABBREV, BH_TOK_NUMBER, BH_TOK_EMAIL, BH_TOK_URL, BH_TOK_HASHTAG,
                  BH_TOK_MENTION, BH_TOK_EMOJI, BH_TOK_PUNCT, BH_TOK_WORD};
    assert_int_equal(sp.n, sizeof want / sizeof want[0]);
    for (size_t k = 0; k < sp.n; k++) assert_int_equal(sp.v[k].kind, want[k]);
    /* the one-pass call gives what the two separate calls give */
    const char *t2 = "তিনি বলেন, “আমরা যাব।” এরপর চলে যান। ড. রহিম এলেন!";
    assert_int_equal(bh_segment_sentences_words(G, t2, strlen(t2), &sp, &sp2), BH_OK);
    bh_spans a = {0}, b = {0};
    assert_int_equal(bh_segment(G, BH_SEG_SENTENCE, t2, strlen(t2), &a), BH_OK);
    assert_int_equal(bh_segment(G, BH_SEG_WORD, t2, strlen(t2), &b), BH_OK);
    assert_int_equal(a.n, 3);
    assert_int_equal(sp.n, a.n);
    assert_int_equal(sp2.n, b.n);
    assert_memory_equal(sp.v, a.v, a.n * sizeof *a.v);
    assert_memory_equal(sp2.v, b.v, b.n * sizeof *b.v);
    bh_spans_free(&a);
    bh_spans_free(&b);
    bh_spans_free(&sp);
    bh_spans_free(&sp2);
    bh_spans_free(&sp);
    bh_spans_free(NULL);
    bh_segmenter_free(NULL);
}

/* A line break always ends a sentence, whichever the line break is. */
static void test_line_breaks(void **state)
{
    (void)state;
    static const char *const breaks[] = {"\n", "\r\n", "\v", "\f", "\xc2\x85", "\xe2\x80\xa8", "\xe2\x80\xa9"};
    bh_spans sp = {0};
    for (size_t k = 0; k < sizeof breaks / sizeof breaks[0]; k++) {
        char t[128];
        int n = snprintf(t, sizeof t, "আজ বৃষ্টি%sকাল রোদ", breaks[k]);
        assert_int_equal(bh_segment(G, BH_SEG_SENTENCE, t, (size_t)n, &sp), BH_OK);
        if (sp.n != 2) fail_msg("line break %zu: %zu sentences", k, sp.n);
        assert_int_equal(sp.v[0].end, strlen("আজ বৃষ্টি"));
        assert_int_equal(sp.v[1].start, (size_t)n - strlen("কাল রোদ"));
    }
    assert_int_equal(bh_segment(G, BH_SEG_SENTENCE, "a\xc2\xa0" "b", 4, &sp), BH_OK); /* NBSP is no line break */
    assert_int_equal(sp.n, 1);
    bh_spans_free(&sp);
}

/* Code-point level checks of the joiner and mark rules (written out, since
 * joiners are invisible). */
static void test_akshara_codepoints(void **state)
{
    (void)state;
    bh_buf got = {0};
    /* ক U+0995, ্ U+09CD, ZWNJ, ষ U+09B7: explicit virama ends the syllable */
    join_units(BH_SEG_AKSHARA, "\u0995\u09CD\u200C\u09B7", 12, "|", &got);
    assert_string_equal(got.data, "\u0995\u09CD\u200C|\u09B7");
    /* ক ্ ZWJ ষ: half form, one syllable */
    join_units(BH_SEG_AKSHARA, "\u0995\u09CD\u200D\u09B7", 12, "|", &got);
    assert_string_equal(got.data, "\u0995\u09CD\u200D\u09B7");
    /* র ZWJ ্ য া (ra-phala with yaphala, র‍্যা) */
    join_units(BH_SEG_AKSHARA, "\u09B0\u200D\u09CD\u09AF\u09BE", 15, "|", &got);
    assert_string_equal(got.data, "\u09B0\u200D\u09CD\u09AF\u09BE");
    /* য + nukta + া ; a stray vowel sign after a space is kept as a unit */
    join_units(BH_SEG_AKSHARA, "\u09AF\u09BC\u09BE \u09BE", 13, "|", &got);
    assert_string_equal(got.data, "\u09AF\u09BC\u09BE|\u09BE");
    /* Devanagari: consonant + anusvara after vowel sign; nukta letter precomposed */
    join_units(BH_SEG_AKSHARA, "\u0915\u093F\u0902\u0958", 12, "|", &got);
    assert_string_equal(got.data, "\u0915\u093F\u0902|\u0958");
    /* Malayalam dot reph joins the next consonant */
    join_units(BH_SEG_AKSHARA, "\u0D4E\u0D15\u0D3E", 9, "|", &got);
    assert_string_equal(got.data, "\u0D4E\u0D15\u0D3E");
    /* words never lose a mark: a vowel sign after a space is its own token */
    join_units(BH_SEG_WORD, "\u0995 \u09BE\u09BF", 10, "|", &got);
    assert_string_equal(got.data, "\u0995|\u09BE\u09BF");
    /* grapheme clusters */
    join_units(BH_SEG_GRAPHEME, "a\u0301b \U0001F1E7\U0001F1E9", 13, "|", &got);
    assert_string_equal(got.data, "a\u0301|b|\U0001F1E7\U0001F1E9");
    bh_buf_free(&got);
}

/* Invariants on any input: spans in order, inside the text, non-empty, not
 * overlapping, and every byte not in a span is white space or a control
 * character (nothing is lost). */
static void check_invariants(const char *s, size_t n, bh_seg_unit unit)
{
    bh_spans sp = {0};
    assert_int_equal(bh_segment(G, unit, s, n, &sp), BH_OK);
    size_t pos = 0;
    for (size_t k = 0; k <= sp.n; k++) {
        size_t a = k < sp.n ? sp.v[k].start : n;
        assert_true(a >= pos);
        /* the gap [pos, a) decodes to white space / controls only */
        int32_t i = (int32_t)pos;
        while ((size_t)i < a) {
            UChar32 c;
            U8_NEXT(s, i, (int32_t)a, c);
            assert_true(c >= 0);
            assert_true(u_isUWhiteSpace(c) || u_charType(c) == U_CONTROL_CHAR || c == 0x200B);
        }
        if (k < sp.n) {
            assert_true(sp.v[k].end > sp.v[k].start);
            assert_true(sp.v[k].end <= n);
            pos = sp.v[k].end;
        }
    }
    bh_spans_free(&sp);
}

static void test_bad_input(void **state)
{
    (void)state;
    const char bad[] = "ক\xff\xfe খ\xe0\xa6 \xed\xa0\x80 \xc0\xaf a\0b \xf4\x90\x80\x80 ।\xe0";
    size_t n = sizeof bad - 1;
    bh_spans sp = {0};
    for (int u = 0; u <= BH_SEG_GRAPHEME; u++) {
        check_invariants(bad, n, (bh_seg_unit)u);
        assert_int_equal(bh_segment(G, (bh_seg_unit)u, bad, n, &sp), BH_OK);
        assert_true(sp.bad_utf8 >= 10);
    }
    /* pseudo-random bytes biased towards UTF-8 lead/continuation bytes, Indic letters and punctuation */
    size_t len = 1 << 18;
    char *r = malloc(len);
    assert_non_null(r);
    uint64_t x = 0x9E3779B97F4A7C15u;
    static const char *const pieces[] = {"\xe0\xa6\x95", "\xe0\xa7\x8d", "\xe2\x80\x8d", "\xe0\xa5\xa4", ".", " ",
                                         "\xe2\x80\x9c", "\xe2\x80\x9d", "\"", "@", "#", "http://", "\n", "\xe0",
                                         "\x80", "\xf0\x9f\x98\x80", "1", ",", "\xe2\x80\x99", "-", "\xe0\xa6\xbe",
                                         "\xe2\x80\x8b"};
    for (size_t i = 0; i < len;) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const char *p = pieces[x % (sizeof pieces / sizeof pieces[0])];
        size_t pl = strlen(p);
        if ((x >> 32) % 7 == 0) { r[i++] = (char)(x >> 40); continue; }
        if (i + pl > len) break;
        memcpy(r + i, p, pl);
        i += pl;
    }
    for (int u = 0; u <= BH_SEG_GRAPHEME; u++) check_invariants(r, len, (bh_seg_unit)u);
    free(r);
    bh_spans_free(&sp);
}

typedef struct tjob { const char *text; size_t len; bh_spans sp; size_t sum; } tjob;

static void *thread_run(void *arg)
{
    tjob *j = arg;
    for (int rep = 0; rep < 20; rep++)
        for (int u = 0; u <= BH_SEG_GRAPHEME; u++) {
            if (bh_segment(G, (bh_seg_unit)u, j->text, j->len, &j->sp)) return NULL;
            for (size_t k = 0; k < j->sp.n; k++) j->sum += j->sp.v[k].start * 31 + j->sp.v[k].end;
        }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    const char *t = "ড. ইউনূস বলেন, “আমরা যাব।” डॉ. शर्मा आए। https://x.org ৳৫০০ 😀 ক্ষত্রিয়।";
    tjob a = {t, strlen(t), {0}, 0}, b = {t, strlen(t), {0}, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, thread_run, &b), 0);
    thread_run(&a);
    pthread_join(th, NULL);
    assert_true(a.sum > 0);
    assert_int_equal(a.sum, b.sum);
    bh_spans_free(&a.sp);
    bh_spans_free(&b.sp);
}

/* ---- UD Bengali-BRU ---- */

static void test_ud_bn_bru(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/data/ud/bn_bru/bn_bru-ud-test.conllu", shared_dir());
    bh_buf f = {0}, gold = {0}, got = {0}, all = {0};
    if (!read_all(path, &f, SIZE_MAX)) {
        printf("# SKIP %s not found (set BH_SHARED)\n", path);
        skip();
    }
    size_t sents = 0, exact = 0, gold_tok = 0, got_tok = 0, same_tok = 0;
    char *text = NULL;
    long range_end = 0;
    char *save = NULL;
    for (char *line = strtok_r(f.data, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
        int boundary = !line || strncmp(line, "# sent_id", 9) == 0;
        if (boundary && text) {
            join_units(BH_SEG_WORD, text, strlen(text), " ", &got);
            bh_buf_append(&gold, "", 0);
            sents++;
            if (strcmp(got.data, gold.data) == 0) exact++;
            else printf("# UD differs: [%s]\n#   got  %s\n#   gold %s\n", text, got.data, gold.data);
            /* token counts for F1: count spaces + 1 */
            size_t ng = 1, nw = 1;
            for (char *p = gold.data; *p; p++) ng += *p == ' ';
            for (char *p = got.data; *p; p++) nw += *p == ' ';
            gold_tok += ng;
            got_tok += nw;
            if (strcmp(got.data, gold.data) == 0) same_tok += ng;
            if (all.len) bh_buf_append(&all, " ", 1);
            bh_buf_append(&all, text, strlen(text));
            bh_buf_append(&all, "\t", 1);   /* sentence end marker, removed below */
            text = NULL;
            bh_buf_clear(&gold);
            range_end = 0;
        }
        if (!line) break;
        if (strncmp(line, "# text = ", 9) == 0) {
            text = line + 9;
            continue;
        }
        if (line[0] == '#' || !text) continue;
        char *tab1 = strchr(line, '\t');
        if (!tab1) continue;
        char *tab2 = strchr(tab1 + 1, '\t');
        if (!tab2) continue;
        long id = strtol(line, NULL, 10);
        if (line[strcspn(line, "-.\t")] == '.') continue;           /* empty node */
        if (line[strcspn(line, "-.\t")] == '-') {                   /* multi-word range: keep its FORM */
            range_end = strtol(strchr(line, '-') + 1, NULL, 10);
        } else if (id <= range_end) {
            continue;                                               /* part of a range */
        }
        if (gold.len) bh_buf_append(&gold, " ", 1);
        bh_buf_append(&gold, tab1 + 1, (size_t)(tab2 - tab1 - 1));
    }
    printf("# UD bn_bru words: %zu/%zu sentences tokenized exactly like the gold (%zu gold tokens, %zu ours)\n",
           exact, sents, gold_tok, got_tok);
    assert_true(sents > 0);
    assert_int_equal(exact, sents);

    /* Sentences: all texts as one paragraph; count exact sentence spans. */
    bh_buf para = {0};
    size_t *ends = calloc(sents + 1, sizeof *ends), ne = 0;
    for (size_t i = 0; i < all.len; i++) {
        if (all.data[i] == '\t') ends[ne++] = para.len;
        else bh_buf_append(&para, all.data + i, 1);
    }
    bh_spans sp = {0};
    assert_int_equal(bh_segment(G, BH_SEG_SENTENCE, para.data, para.len, &sp), BH_OK);
    size_t hit = 0, prev = 0, gi = 0;
    for (size_t k = 0; k < sp.n; k++) {
        while (gi < ne && ends[gi] < sp.v[k].end) prev = ends[gi++] + 1;
        if (gi < ne && ends[gi] == sp.v[k].end && sp.v[k].start == prev) hit++;
    }
    double f1 = 200.0 * (double)hit / (double)(sp.n + ne);
    printf("# UD bn_bru sentences: %zu found, %zu gold, %zu exact: F1 %.1f%%\n", sp.n, ne, hit, f1);
    assert_true(f1 >= 95.0);
    free(ends);
    bh_spans_free(&sp);
    bh_buf_free(&para);
    bh_buf_free(&f);
    bh_buf_free(&gold);
    bh_buf_free(&got);
    bh_buf_free(&all);
    (void)same_tok;
}

/* ---- Leipzig Hindi sentences: lines joined 5 at a time into paragraphs ---- */

static void test_sentences_hindi(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/data/raw/hi/leipzig-hin-mixed-2019-10k/hin_mixed_2019.valid.txt", shared_dir());
    bh_buf f = {0};
    if (!read_all(path, &f, SIZE_MAX)) {
        printf("# SKIP %s not found (set BH_SHARED)\n", path);
        skip();
    }
    bh_spans sp = {0};
    bh_buf para = {0};
    size_t ends[8], starts[8];
    size_t gold = 0, found = 0, hit = 0, nl = 0;
    char *save = NULL;
    for (char *line = strtok_r(f.data, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
        if (line && !*line) continue;
        if (line) {
            if (para.len) bh_buf_append(&para, " ", 1);
            starts[nl] = para.len;
            bh_buf_append(&para, line, strlen(line));
            ends[nl++] = para.len;
        }
        if ((!line && nl) || nl == 5) {
            assert_int_equal(bh_segment(G, BH_SEG_SENTENCE, para.data, para.len, &sp), BH_OK);
            gold += nl;
            found += sp.n;
            for (size_t k = 0; k < sp.n; k++)
                for (size_t g = 0; g < nl; g++)
                    if (sp.v[k].start == starts[g] && sp.v[k].end == ends[g]) hit++;
            nl = 0;
            bh_buf_clear(&para);
        }
        if (!line) break;
    }
    double f1 = 200.0 * (double)hit / (double)(found + gold);
    printf("# Leipzig Hindi sentences (5 lines per paragraph): %zu found, %zu gold, %zu exact: F1 %.2f%%\n",
           found, gold, hit, f1);
    assert_true(f1 >= 90.0);
    bh_spans_free(&sp);
    bh_buf_free(&para);
    bh_buf_free(&f);
}

/* ---- agreement with ICU ---- */

typedef struct { size_t a, b; } span2;

static int blank_cp(UChar32 c)
{
    return c < 0 || u_isUWhiteSpace(c) || u_charType(c) == U_CONTROL_CHAR || c == 0x200B;
}

/* Our spans where a documented rule departs from UAX #29 on purpose. */
static int is_override(const char *s, const bh_span *sp, const bh_span *prev, const bh_span *next)
{
    size_t n = sp->end - sp->start;
    const char *p = s + sp->start;
    switch (sp->kind) {
    case BH_TOK_URL: case BH_TOK_EMAIL: case BH_TOK_HASHTAG: case BH_TOK_MENTION: case BH_TOK_ABBREV:
        return 1;
    case BH_TOK_NUMBER: {
        UChar32 c0, c1;
        int32_t i = 0, j = (int32_t)n;
        U8_NEXT(p, i, (int32_t)n, c0);
        U8_PREV(p, 0, j, c1);
        return u_charType(c0) == U_CURRENCY_SYMBOL || u_charType(c1) == U_CURRENCY_SYMBOL;
    }
    case BH_TOK_PUNCT:
        if (n > 1 && (p[0] == '-' || p[0] == '.') && p[1] == p[0]) return 1;   /* -- ... */
        if (n == 3 && memcmp(p, "\xE2\x80\x98", 3) == 0)                       /* ‘ glued to words */
            return (prev && prev->end == sp->start) || (next && next->start == sp->end);
        return 0;
    default:
        return 0;
    }
}

static void agreement(const char *text, size_t len, size_t *same, size_t *ours, size_t *icu,
                      size_t *excluded, int show)
{
    UErrorCode e = U_ZERO_ERROR;
    UBreakIterator *bi = ubrk_open(UBRK_WORD, "", NULL, 0, &e);
    assert_true(U_SUCCESS(e));
    bh_spans sp = {0};
    span2 *iv = NULL, *rg = NULL;
    size_t icap = 0, rcap = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        assert_int_equal(bh_segment(G, BH_SEG_WORD, p, n, &sp), BH_OK);
        /* override regions, each widened to the neighbouring tokens it glues */
        size_t nr = 0;
        for (size_t k = 0; k < sp.n; k++)
            if (is_override(p, &sp.v[k], k ? &sp.v[k - 1] : NULL, k + 1 < sp.n ? &sp.v[k + 1] : NULL)) {
                if (nr == rcap) { rcap = rcap ? 2 * rcap : 64; rg = realloc(rg, rcap * sizeof *rg); }
                size_t a = sp.v[k].start, b = sp.v[k].end;
                if (k && sp.v[k - 1].end == a) a = sp.v[k - 1].start;
                if (k + 1 < sp.n && sp.v[k + 1].start == b) b = sp.v[k + 1].end;
                rg[nr++] = (span2){a, b};
            }
        UText *ut = utext_openUTF8(NULL, p, (int64_t)n, &e);
        ubrk_setUText(bi, ut, &e);
        size_t ni = 0;
        int32_t a = ubrk_first(bi), b;
        while ((b = ubrk_next(bi)) != UBRK_DONE) {
            int32_t x = a, y = b;
            UChar32 c;
            while (x < y) { int32_t k = x; U8_NEXT(p, k, y, c); if (!blank_cp(c)) break; x = k; }
            while (y > x) { int32_t k = y; U8_PREV(p, x, k, c); if (!blank_cp(c)) break; y = k; }
            if (y > x) {
                if (ni == icap) { icap = icap ? 2 * icap : 1024; iv = realloc(iv, icap * sizeof *iv); }
                iv[ni++] = (span2){(size_t)x, (size_t)y};
            }
            a = b;
        }
        utext_close(ut);
        /* drop tokens of either side that touch an override region */
        size_t r = 0, w = 0;
        for (size_t k = 0; k < sp.n; k++) {
            while (r < nr && rg[r].b <= sp.v[k].start) r++;
            if (r < nr && rg[r].a < sp.v[k].end) { (*excluded)++; continue; }
            sp.v[w++] = sp.v[k];
        }
        sp.n = w;
        r = 0, w = 0;
        for (size_t k = 0; k < ni; k++) {
            while (r < nr && rg[r].b <= iv[k].a) r++;
            if (r < nr && rg[r].a < iv[k].b) continue;
            iv[w++] = iv[k];
        }
        ni = w;
        size_t i = 0, j = 0;
        while (i < sp.n && j < ni) {
            if (sp.v[i].start == iv[j].a && sp.v[i].end == iv[j].b) { (*same)++; i++; j++; continue; }
            if (show) {
                printf("# differ: ours [%.*s] icu [%.*s]\n", (int)(sp.v[i].end - sp.v[i].start),
                       p + sp.v[i].start, (int)(iv[j].b - iv[j].a), p + iv[j].a);
                show--;
            }
            if (sp.v[i].end <= iv[j].b) i++;
            else j++;
        }
        *ours += sp.n;
        *icu += ni;
        p += n + (nl ? 1 : 0);
    }
    free(iv);
    free(rg);
    bh_spans_free(&sp);
    ubrk_close(bi);
}

static void test_icu_agreement(void **state)
{
    (void)state;
    /* our own fixture first (always available) */
    static const char own[] =
        "আজ সকালে ঢাকায় বৃষ্টি হয়েছে। রাস্তায় পানি জমে যায়, ফলে অনেকে অফিসে দেরিতে পৌঁছান।\n"
        "সরকার ১,২৫০ কোটি টাকার প্রকল্প অনুমোদন করেছে; কাজ শুরু হবে ২০২৬ সালে।\n"
        "आज दिल्ली में 42.5 डिग्री तापमान दर्ज किया गया, जो इस साल का सबसे अधिक है।\n"
        "उन्होंने कहा कि 1,00,000 लोगों को (लगभग) राहत मिलेगी — और क्या चाहिए?\n";
    size_t same = 0, ours = 0, icu = 0, excl = 0;
    agreement(own, sizeof own - 1, &same, &ours, &icu, &excl, 20);
    assert_int_equal(same, ours);
    assert_int_equal(same, icu);

    const char *files[] = {"raw/bn/prothomalo-ittefaq-news-2026/bn_news.valid.txt",
                           "raw/bn/sachalayatan-blog/sachalayatan.valid.txt.gz",
                           "raw/hi/bbc-hindi-news-test/bbc_hindi_news.valid.txt",
                           "raw/hi/covid19-hindi-news-2020/covid19_hindi_news.valid.txt",
                           "raw/hi/leipzig-hin-mixed-2019-10k/hin_mixed_2019.valid.txt"};
    bh_buf t = {0};
    int found = 0;
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/data/%s", shared_dir(), files[k]);
        size_t before = t.len;
        found += read_all(path, &t, before + 600000);
        if (t.len && t.data[t.len - 1] != '\n') bh_buf_append(&t, "\n", 1);
    }
    if (!found) {
        printf("# SKIP ../shared/data raw text not found (set BH_SHARED)\n");
        skip();
    }
    same = ours = icu = excl = 0;
    agreement(t.data, t.len, &same, &ours, &icu, &excl, getenv("BH_SEG_SHOW") ? 200 : 10);
    double f1 = 200.0 * (double)same / (double)(ours + icu);
    printf("# ICU agreement on %.2f MB of raw bn+hi text: %zu identical of our %zu / ICU's %zu tokens "
           "outside %zu tokens under Indic/web rules: F1 %.4f%%\n",
           (double)t.len / 1e6, same, ours, icu, excl, f1);
    assert_true(f1 >= 99.9);
    bh_buf_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api),
        cmocka_unit_test(test_line_breaks),
        cmocka_unit_test(test_words_fixture),
        cmocka_unit_test(test_sentences_fixture),
        cmocka_unit_test(test_akshara_fixture),
        cmocka_unit_test(test_akshara_codepoints),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_ud_bn_bru),
        cmocka_unit_test(test_sentences_hindi),
        cmocka_unit_test(test_icu_agreement),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

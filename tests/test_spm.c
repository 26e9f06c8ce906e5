/* tests/test_spm.c — SentencePiece wrapper: train, load, encode/decode, offsets,
 * sampling, batch threads, and hostile model files. The model is trained in the
 * setup from the project's own fixture text, so nothing outside tests/ is needed.
 * (Equality with spm_encode on staged text is tests/t_spm.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bhasha.h"
#include "tests/asan.h"

#define FIXTEXT "tests/fixtures/subword/wp_text.txt"

static char g_dir[64];
static char g_model[128];
static bh_spm *g_m;

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
    snprintf(g_dir, sizeof g_dir, "%s/bh_test_spm_XXXXXX", tmp);
    if (!mkdtemp(g_dir)) return -1;
    char prefix[96];
    snprintf(prefix, sizeof prefix, "%s/m", g_dir);
    snprintf(g_model, sizeof g_model, "%s/m.model", g_dir);
    const char *in[] = {FIXTEXT};
    bh_spm_train_options o;
    bh_spm_train_options_default(&o);
    o.inputs = in;
    o.n_inputs = 1;
    o.model_prefix = prefix;
    o.vocab_size = 300;
    o.character_coverage = 1.0;
    o.pad_id = 3;
    o.user_defined_symbols = "<mask>";
    if (bh_spm_train(&o)) {
        fprintf(stderr, "# train failed: %s\n", bh_last_error());
        return -1;
    }
    return bh_spm_load(g_model, &g_m) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    bh_spm_free(g_m);
    char p[160];
    snprintf(p, sizeof p, "%s/m.model", g_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/m.vocab", g_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/bad.model", g_dir);
    unlink(p);
    rmdir(g_dir);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void test_vocab_and_specials(void **state)
{
    (void)state;
    assert_int_equal(bh_spm_vocab_size(g_m), 300);
    assert_int_equal(bh_spm_special_id(g_m, BH_SPM_UNK), 0);
    assert_int_equal(bh_spm_special_id(g_m, BH_SPM_BOS), 1);
    assert_int_equal(bh_spm_special_id(g_m, BH_SPM_EOS), 2);
    assert_int_equal(bh_spm_special_id(g_m, BH_SPM_PAD), 3);
    const char *p;
    size_t n;
    assert_int_equal(bh_spm_id_to_piece(g_m, 4, &p, &n), BH_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(p, "<mask>", 6);
    assert_int_equal(bh_spm_piece_to_id(g_m, "<mask>", 6), 4);
    assert_int_equal(bh_spm_piece_to_id(g_m, "no such piece!", 14), 0);
    assert_int_equal(bh_spm_id_to_piece(g_m, 300, &p, &n), BH_EINVAL);
    assert_int_equal(bh_spm_id_to_piece(g_m, -1, &p, &n), BH_EINVAL);
}

/* Every fixture line: ids == ids-only path, offsets ordered and in range,
 * decode gives the text back with runs of spaces folded. */
static void test_encode_decode_offsets(void **state)
{
    (void)state;
    FILE *f = fopen(FIXTEXT, "rb");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bh_tokens t = {0}, u = {0};
    bh_buf out = {0}, want = {0};
    int lines = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        size_t len = (size_t)n - (line[n - 1] == '\n');
        assert_int_equal(bh_spm_encode(g_m, line, len, &t), BH_OK);
        assert_int_equal(bh_spm_encode_ids(g_m, line, len, &u), BH_OK);
        assert_int_equal(t.n, u.n);
        assert_memory_equal(t.ids, u.ids, t.n * sizeof *t.ids);
        for (size_t i = 0; i < t.n; i++) {
            assert_true(t.begin[i] <= t.end[i]);
            assert_true(t.end[i] <= len);
            if (i) assert_true(t.begin[i] >= t.end[i - 1] || t.begin[i] == t.end[i]);
        }
        bh_buf_clear(&out);
        assert_int_equal(bh_spm_decode(g_m, t.ids, t.n, &out), BH_OK);
        int plain = 1;
        for (size_t i = 0; i < len; i++) plain &= (unsigned char)line[i] >= 0x20 && line[i] != 0x7f;
        if (!plain) continue; /* control bytes: unknown pieces, no round trip */
        /* identity normalization still folds and trims runs of spaces */
        bh_buf_clear(&want);
        int sp = 1;
        for (size_t i = 0; i < len; i++) {
            if (line[i] == ' ') {
                if (!sp) bh_buf_append(&want, " ", 1);
                sp = 1;
            } else {
                bh_buf_append(&want, line + i, 1);
                sp = 0;
            }
        }
        if (want.len && want.data[want.len - 1] == ' ') want.len--;
        assert_int_equal(out.len, want.len);
        if (want.len) assert_memory_equal(out.data, want.data, want.len);
        lines++;
    }
    assert_true(lines > 20);
    free(line);
    fclose(f);
    bh_tokens_free(&t);
    bh_tokens_free(&u);
    bh_buf_free(&out);
    bh_buf_free(&want);
}

static void test_char_offsets(void **state)
{
    (void)state;
    const char *s = "আমি গান";  /* 3 + 1 + 3 code points, 9 + 1 + 9 bytes */
    bh_tokens t = {0};
    assert_int_equal(bh_spm_encode(g_m, s, strlen(s), &t), BH_OK);
    assert_true(t.n >= 2);
    assert_int_equal(bh_tokens_to_char_offsets(s, strlen(s), &t), BH_OK);
    assert_int_equal(t.begin[0], 0);
    assert_int_equal(t.end[t.n - 1], 7);
    bh_tokens_free(&t);
}

static void test_sample(void **state)
{
    (void)state;
    const char *s = "ঢাকা বিশ্ববিদ্যালয়ের শিক্ষার্থীরা বৃহস্পতিবার সকালে মিছিল করেন";
    bh_tokens t = {0};
    bh_buf a = {0}, b = {0};
    assert_int_equal(bh_spm_encode_ids(g_m, s, strlen(s), &t), BH_OK);
    assert_int_equal(bh_spm_decode(g_m, t.ids, t.n, &a), BH_OK);
    for (int k = 0; k < 20; k++) {
        assert_int_equal(bh_spm_sample(g_m, s, strlen(s), -1, 0.1f, &t), BH_OK);
        bh_buf_clear(&b);
        assert_int_equal(bh_spm_decode(g_m, t.ids, t.n, &b), BH_OK);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
    }
    assert_int_equal(bh_spm_sample(g_m, s, strlen(s), -1, 7.0f, &t), BH_EINVAL);
    bh_tokens_free(&t);
    bh_buf_free(&a);
    bh_buf_free(&b);
}


/* Two encodings of one text: the same ids. */
static void same_ids(const bh_tokens *a, const bh_tokens *b)
{
    assert_int_equal(a->n, b->n);
    if (a->n) assert_memory_equal(a->ids, b->ids, a->n * sizeof(int32_t));
}
static void test_batch_threads(void **state)
{
    (void)state;
    enum { N = 200 };
    const char *texts[N];
    size_t lens[N];
    const char *pool[] = {"আমি বাংলায় গান গাই।", "मैं हिंदी में गाना गाता हूँ।", "", "Hello, World!", "\xff\xfe"};
    for (int i = 0; i < N; i++) {
        texts[i] = pool[i % 5];
        lens[i] = strlen(texts[i]);
    }
    bh_tokens one[N], two[N];
    memset(one, 0, sizeof one);
    memset(two, 0, sizeof two);
    assert_int_equal(bh_spm_encode_batch(g_m, texts, lens, N, 1, 1, one), BH_OK);
    assert_int_equal(bh_spm_encode_batch(g_m, texts, lens, N, 2, 0, two), BH_OK);
    for (int i = 0; i < N; i++) {
        same_ids(&one[i], &two[i]);
        bh_tokens_free(&one[i]);
        bh_tokens_free(&two[i]);
    }
}

/* AddressSanitizer's shadow memory needs the address space that
 * test_batch_thread_limits takes away. */
#ifndef BH_TEST_ASAN
/* Virtual memory in use by this process, in bytes (0 if unknown). */
static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %zu kB", &kb) == 1) break;
    fclose(f);
    return kb << 10;
}
#endif

/* A huge thread count is capped, and threads that cannot be created leave
 * their share to the calling thread instead of ending the process. */
static void test_batch_thread_limits(void **state)
{
    (void)state;
    enum { N = 2000 };
    static const char *texts[N];
    static size_t lens[N];
    static bh_tokens one[N], many[N];
    const char *pool[] = {"আমি বাংলায় গান গাই।", "मैं हिंदी में गाना गाता हूँ।", "", "Hello, World!", "\xff\xfe"};
    for (int i = 0; i < N; i++) {
        texts[i] = pool[i % 5];
        lens[i] = strlen(texts[i]);
    }
    assert_int_equal(bh_spm_encode_batch(g_m, texts, lens, N, 1, 1, one), BH_OK);
    assert_int_equal(bh_spm_encode_batch(g_m, texts, lens, N, 0x7fffffff, 1, many), BH_OK);
    for (int i = 0; i < N; i++) {
        same_ids(&one[i], &many[i]);
        bh_tokens_free(&many[i]);
    }
#ifndef BH_TEST_ASAN
    /* In a child whose address space leaves room for a few thread stacks only,
     * creating the 64 threads fails part way. */
    size_t vm = vm_size();
    if (vm) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct rlimit r = {vm + (40u << 20), vm + (40u << 20)};
            if (setrlimit(RLIMIT_AS, &r)) _exit(3);
            if (bh_spm_encode_batch(g_m, texts, lens, N, 64, 1, many) != BH_OK) _exit(1);
            for (int i = 0; i < N; i++)
                if (one[i].n != many[i].n || (one[i].n && memcmp(one[i].ids, many[i].ids, one[i].n * sizeof(int32_t))))
                    _exit(2);
            _exit(0);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status)) fail_msg("child ended by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
        assert_int_equal(WEXITSTATUS(status), 0);
    }
#endif
    for (int i = 0; i < N; i++) bh_tokens_free(&one[i]);
}

static void test_odd_text(void **state)
{
    (void)state;
    bh_tokens t = {0};
    /* empty text, invalid UTF-8 and NUL bytes: no error, no crash */
    assert_int_equal(bh_spm_encode(g_m, "", 0, &t), BH_OK);
    assert_int_equal(t.n, 0);
    assert_int_equal(bh_spm_encode(g_m, "a\xff\xfe\xe0\xa6", 5, &t), BH_OK);
    assert_int_equal(bh_spm_encode(g_m, "a\0b", 3, &t), BH_OK);
    /* a 1 MB line */
    size_t big = 1 << 20;
    char *s = malloc(big);
    assert_non_null(s);
    for (size_t i = 0; i < big; i++) s[i] = "abc \xe0\xa6\x95"[i % 7];
    assert_int_equal(bh_spm_encode_ids(g_m, s, big, &t), BH_OK);
    assert_true(t.n > 1000);
    free(s);
    assert_int_equal(bh_spm_encode(NULL, "a", 1, &t), BH_EINVAL);
    assert_int_equal(bh_spm_encode(g_m, NULL, 1, &t), BH_EINVAL);
    bh_tokens_free(&t);
}

static void test_decode_bad_ids(void **state)
{
    (void)state;
    bh_buf out = {0};
    int32_t ids[] = {5, 299, 300};
    assert_int_equal(bh_spm_decode(g_m, ids, 2, &out), BH_OK);
    assert_int_equal(bh_spm_decode(g_m, ids, 3, &out), BH_EINVAL);
    assert_non_null(strstr(bh_last_error(), "300"));
    int32_t neg = -5;
    assert_int_equal(bh_spm_decode(g_m, &neg, 1, &out), BH_EINVAL);
    bh_buf_free(&out);
}

static void test_bad_model_files(void **state)
{
    (void)state;
    bh_spm *m = NULL;
    assert_int_equal(bh_spm_load("/nonexistent/x.model", &m), BH_EIO);
    assert_null(m);
    assert_int_equal(bh_spm_load(NULL, &m), BH_EINVAL);
    assert_int_equal(bh_spm_load_bytes("", 0, &m), BH_EFORMAT);
    assert_int_equal(bh_spm_load_bytes("[PAD]\n[UNK]\n", 12, &m), BH_EFORMAT);
    assert_int_equal(bh_spm_load_bytes("\n\x05" "abc", 5, &m), BH_EFORMAT);
    size_t len = 0;
    char *good = slurp(g_model, &len);
    assert_non_null(good);
    /* every truncation point in the first 4 KB and then some: a clean error */
    for (size_t cut = 0; cut < len; cut += cut < 4096 ? 1 : 997) {
        bh_status st = bh_spm_load_bytes(good, cut, &m);
        assert_int_equal(st, BH_EFORMAT);
        assert_null(m);
    }
    /* corrupted bytes: either a clean error or a model that encodes */
    srand(7);
    char *bad = malloc(len);
    assert_non_null(bad);
    for (int k = 0; k < 200; k++) {
        memcpy(bad, good, len);
        for (int j = 0; j < 8; j++) bad[(size_t)rand() % len] = (char)rand();
        if (bh_spm_load_bytes(bad, len, &m) == BH_OK) {
            bh_tokens t = {0};
            bh_spm_encode(m, "আমি বাংলায়", strlen("আমি বাংলায়"), &t);
            bh_tokens_free(&t);
            bh_spm_free(m);
            m = NULL;
        }
    }
    /* A piece that starts with NUL: SentencePiece's trie builder throws
     * (a zero-length key) after the model was allocated; a clean error, and
     * under ASan no leak. The pieces are field 1 of field 1: 0x0A, length,
     * 0x0A, length, bytes; patch the first piece that starts with U+2581. */
    memcpy(bad, good, len);
    size_t at = 0;
    for (size_t i = 0; i + 5 < len && !at; i++)
        if (bad[i] == 0x0A && (unsigned char)bad[i + 1] < 0x80 && bad[i + 2] == 0x0A && bad[i + 3] >= 3 &&
            !memcmp(bad + i + 4, "\xe2\x96\x81", 3))
            at = i + 4;
    assert_true(at > 0);
    bad[at] = 0;
    assert_int_equal(bh_spm_load_bytes(bad, len, &m), BH_EFORMAT);
    assert_null(m);
    assert_non_null(strstr(bh_last_error(), "bh_spm_load_bytes"));
    assert_int_equal(bh_spm_load_bytes(good, len, &m), BH_OK);
    bh_spm_free(m);
    free(bad);
    free(good);
}

static void test_train_errors(void **state)
{
    (void)state;
    char prefix[96];
    snprintf(prefix, sizeof prefix, "%s/bad", g_dir);
    const char *in[] = {FIXTEXT};
    bh_spm_train_options o;
    bh_spm_train_options_default(&o);
    o.inputs = in;
    o.n_inputs = 1;
    o.model_prefix = prefix;
    o.vocab_size = 100000; /* more pieces than the text has */
    assert_int_equal(bh_spm_train(&o), BH_EINVAL);
    o.vocab_size = 300;
    o.model_type = "wordpiece";
    assert_int_equal(bh_spm_train(&o), BH_EINVAL);
    o.model_type = "unigram";
    const char *missing[] = {"/nonexistent/text.txt"};
    o.inputs = missing;
    assert_int_equal(bh_spm_train(&o), BH_EIO);
    assert_int_equal(bh_spm_train(NULL), BH_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_and_specials), cmocka_unit_test(test_encode_decode_offsets),
        cmocka_unit_test(test_char_offsets),       cmocka_unit_test(test_sample),
        cmocka_unit_test(test_batch_threads),      cmocka_unit_test(test_odd_text),
        cmocka_unit_test(test_decode_bad_ids),     cmocka_unit_test(test_bad_model_files),
        cmocka_unit_test(test_train_errors),       cmocka_unit_test(test_batch_thread_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

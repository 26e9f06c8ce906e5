/* fuzz_models: every model-file loader on arbitrary bytes. The first byte
 * picks the loader; the rest is the file:
 *   0 config.json, 1 model.safetensors of a tiny encoder with a sentiment, a
 *   NER (CRF, feature table) and a QA head (seeded as saved and as F16-Q8
 *   converts it), loaded by bh_model_load and bh_heads_load; 2 its
 *   finetune.json, loaded by bh_task_model_load; 3 a language-ID model;
 *   4 a SentencePiece model; 5 a WordPiece vocab; 6 a CRF tagger; 7 word
 *   clusters; 8 a digit recognizer; 9 a token shard, read for 64 windows;
 *   10 the tiny encoder's optimizer state.
 * With BH_FUZZ_SEEDS=DIR set, the start-up writes one valid file of each kind
 * (selector byte first) into DIR: the seed corpus. */
#include "fuzz.h"

#include <sys/stat.h>

static char dir[] = "/tmp/bhasha-fuzz-XXXXXX";
static char path_cfg[64], path_st[64], path_ft[64];
static bh_buf seed_cfg, seed_st, seed_st_rows, seed_ft, seed_crf, seed_digits, seed_shard, seed_optim;
static bh_model *tiny;

static void slurp(const char *path, bh_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) fuzz_die(path);
    char b[65536];
    size_t k;
    while ((k = fread(b, 1, sizeof b, f)) > 0)
        if (bh_buf_append(out, b, k)) fuzz_die("memory");
    fclose(f);
}

static void spill(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f)) fuzz_die(path);
}

static void write_seed(const char *seeds, int sel, const char *name, const void *data, size_t n)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", seeds, name);
    FILE *f = fopen(p, "wb");
    if (!f || fputc(sel, f) == EOF || fwrite(data, 1, n, f) != n || fclose(f)) fuzz_die(p);
}

/* The tiny multi-task checkpoint the first three selectors vary. */
static void make_model(void)
{
    bh_model_config c;
    bh_model_config_default(&c, BH_ARCH_ENCODER);
    c.vocab = 16000; /* the shipped tokenizer's, so that finetune.json can name it */
    c.max_len = 16;
    c.dim = 8;
    c.layers = 1;
    c.heads = 2;
    c.ffn = 16;
    c.pad_id = 3;
    c.mask_id = 4;
    bh_model *m;
    if (bh_model_new(&c, 1, &m)) fuzz_die("model");
    static const char *sent[] = {"negative", "positive"};
    static const char *ner[] = {"O", "B-PER", "I-PER"};
    bh_head_config hc[3] = {
        {.kind = BH_HEAD_SEQUENCE, .name = "sentiment", .dim = 8, .n_labels = 2, .labels = sent, .dense = 1},
        {.kind = BH_HEAD_TOKEN, .name = "ner", .dim = 8, .n_labels = 3, .labels = ner, .crf = 1, .feat_bits = 12},
        {.kind = BH_HEAD_SPAN, .name = "qa", .dim = 8}};
    bh_head *h[3];
    for (int i = 0; i < 3; i++)
        if (bh_head_new(&hc[i], 1, &h[i])) fuzz_die("head");
    if (bh_model_save_heads(m, h, 3, dir)) fuzz_die("save");
    for (int i = 0; i < 3; i++) bh_head_free(h[i]);
    bh_model_free(m);
    static const char ft[] = "{\"task\":\"qa\",\"head\":\"qa\",\"tokenizer\":\"tokenizer.model\",\"normalize\":true,"
                             "\"seq\":16,\"stride\":4,\"max_query\":6,\"max_answer\":5,\"sentence\":true}";
    spill(path_ft, ft, sizeof ft - 1);
    char tok[4096], abs[4096];
    snprintf(tok, sizeof tok, "%s/tokenizer.model", dir);
    if (!realpath(fuzz_asset("assets/spm/bnhi.model"), abs) || symlink(abs, tok)) fuzz_die("tokenizer link");
    slurp(path_cfg, &seed_cfg);
    slurp(path_st, &seed_st);
    bh_buf_append(&seed_ft, ft, sizeof ft - 1);
    /* the same weights as F16-Q8 writes them: the NER head's 3-label feature
     * table as F16 rows (a row index and the values) */
    char conv[4096], p[4096];
    snprintf(conv, sizeof conv, "%s/conv", dir);
    if (bh_model_convert(dir, conv, "f16-q8")) fuzz_die("convert");
    snprintf(p, sizeof p, "%s/model.safetensors", conv);
    slurp(p, &seed_st_rows);
    static const char *files[] = {"config.json", "model.safetensors", "finetune.json", "tokenizer.model"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", conv, files[i]);
        unlink(p);
    }
    rmdir(conv);
}

static void make_crf(void)
{
    static const char *toks[2][3] = {{"রহিম", "ঢাকায়", "যান"}, {"राम", "दिल्ली", "गया"}};
    static const char *tags[2][3] = {{"B-PER", "B-LOC", "O"}, {"B-PER", "B-LOC", "O"}};
    bh_crf_tagger *t;
    if (bh_crf_tagger_new(&t)) fuzz_die("crf");
    for (int i = 0; i < 2; i++)
        if (bh_crf_tagger_add(t, toks[i], tags[i], 3)) fuzz_die("crf add");
    bh_crf_tagger_options o = {.hash_bits = 12, .epochs = 1};
    if (bh_crf_tagger_train(t, &o)) fuzz_die("crf train");
    char p[4096];
    snprintf(p, sizeof p, "%s/seed.crf", dir);
    if (bh_crf_tagger_save(t, p)) fuzz_die("crf save");
    bh_crf_tagger_free(t);
    slurp(p, &seed_crf);

    bh_prep_opts po;
    bh_prep_defaults(&po);
    bh_feat_spec fs;
    if (bh_feat_parse("hog", &fs)) fuzz_die("features");
    int d = (int)bh_feat_size(&fs, po.size);
    float *X = calloc((size_t)12 * (size_t)d, sizeof *X);
    uint8_t y[12];
    if (!X) fuzz_die("memory");
    for (int i = 0; i < 12; i++) {
        y[i] = (uint8_t)(i % 3);
        for (int j = 0; j < d; j++) X[(size_t)i * (size_t)d + (size_t)j] = (float)((i * 7 + j * 3) % 5) + y[i];
    }
    bh_train_opts to;
    bh_train_defaults(&to, BH_CLF_KNN);
    bh_digits_model *dm;
    if (bh_digits_train_features(X, y, 12, d, &po, &fs, &to, &dm)) fuzz_die("digits");
    free(X);
    snprintf(p, sizeof p, "%s/seed.bhd", dir);
    if (bh_digits_save(dm, p)) fuzz_die("digits save");
    bh_digits_model_free(dm);
    slurp(p, &seed_digits);

    snprintf(p, sizeof p, "%s/seed.shard", dir);
    bh_shard_writer *sw;
    static const int32_t doc[5] = {5, 6, 7, 8, 9};
    if (bh_shard_writer_open(p, 16000, &sw) || bh_shard_writer_add(sw, doc, 5) || bh_shard_writer_add(sw, doc, 3) ||
        bh_shard_writer_close(sw))
        fuzz_die("shard");
    slurp(p, &seed_shard);

    if (bh_model_load(dir, 0, &tiny)) fuzz_die("tiny model");
    bh_optim_config oc;
    bh_optim_config_default(&oc);
    bh_optim *opt;
    snprintf(p, sizeof p, "%s/seed.optim", dir);
    if (bh_optim_new(tiny, &oc, &opt) || bh_optim_save(opt, p, "{\"step\": 1}")) fuzz_die("optimizer");
    bh_optim_free(opt);
    slurp(p, &seed_optim);
}

static void cleanup(void)
{
    static const char *files[] = {"config.json", "model.safetensors", "finetune.json", "tokenizer.model",
                                  "seed.crf", "seed.bhd", "seed.shard", "seed.optim"};
    char p[4096];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(dir)) fuzz_die("temporary directory");
    atexit(cleanup);
    snprintf(path_cfg, sizeof path_cfg, "%s/config.json", dir);
    snprintf(path_st, sizeof path_st, "%s/model.safetensors", dir);
    snprintf(path_ft, sizeof path_ft, "%s/finetune.json", dir);
    make_model();
    make_crf();
    const char *seeds = getenv("BH_FUZZ_SEEDS");
    if (seeds) {
        static const char vocab[] = "[UNK]\n[CLS]\nক\n##া\nকা\n";
        static const char clusters[] = "ঢাকা\t12\t3\nदिल्ली\t9\t4\n";
        bh_buf b = {0};
        write_seed(seeds, 0, "config", seed_cfg.data, seed_cfg.len);
        write_seed(seeds, 1, "safetensors", seed_st.data, seed_st.len);
        write_seed(seeds, 1, "safetensors-rows", seed_st_rows.data, seed_st_rows.len);
        write_seed(seeds, 2, "finetune", seed_ft.data, seed_ft.len);
        slurp(fuzz_asset("assets/langid/langid.bin"), &b);
        write_seed(seeds, 3, "langid", b.data, b.len);
        bh_buf_clear(&b);
        slurp(fuzz_asset("assets/spm/bnhi.model"), &b);
        write_seed(seeds, 4, "spm", b.data, b.len);
        write_seed(seeds, 5, "wordpiece", vocab, sizeof vocab - 1);
        write_seed(seeds, 6, "crf", seed_crf.data, seed_crf.len);
        write_seed(seeds, 7, "clusters", clusters, sizeof clusters - 1);
        write_seed(seeds, 8, "digits", seed_digits.data, seed_digits.len);
        write_seed(seeds, 9, "shard", seed_shard.data, seed_shard.len);
        write_seed(seeds, 10, "optim", seed_optim.data, seed_optim.len);
        bh_buf_free(&b);
    }
    return 0;
}

/* Loads the checkpoint directory (whatever file the input replaced) the three ways. */
static void load_dir(void)
{
    bh_model *m = NULL;
    if (bh_model_load(dir, 0, &m) == BH_OK) {
        bh_head **h = NULL;
        int n = 0;
        if (bh_heads_load(dir, &h, &n) == BH_OK) bh_heads_free(h, n);
        bh_model_free(m);
    }
    bh_task_model *tm = NULL;
    if (bh_task_model_load(dir, 1, &tm) == BH_OK) bh_task_model_free(tm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 1) return 0;
    int sel = data[0] % 11;
    const uint8_t *d = data + 1;
    size_t len = n - 1;
    char p[64];
    int fd;
    switch (sel) {
    case 0: case 1: case 2: {
        const char *target = sel == 0 ? path_cfg : sel == 1 ? path_st : path_ft;
        spill(target, d, len);
        load_dir();
        spill(target, sel == 0 ? seed_cfg.data : sel == 1 ? seed_st.data : seed_ft.data,
              sel == 0 ? seed_cfg.len : sel == 1 ? seed_st.len : seed_ft.len);
        break;
    }
    case 3: {
        bh_langid *m = NULL;
        if (bh_langid_load_mem(d, len, &m) == BH_OK) {
            bh_langid_result r;
            bh_langid_identify(m, "আমি ভাত খাই and हम", 33, &r);
            bh_langid_free(m);
        }
        break;
    }
    case 4: {
        bh_spm *m = NULL;
        if (bh_spm_load_bytes(d, len, &m) == BH_OK) {
            bh_tokens t = {0};
            bh_spm_encode(m, "আমি ভাত খাই", 26, &t);
            bh_tokens_free(&t);
            bh_spm_free(m);
        }
        break;
    }
    case 5: {
        bh_wordpiece *w = NULL;
        if (bh_wordpiece_load_bytes(d, len, NULL, &w) == BH_OK) {
            bh_tokens t = {0};
            bh_wordpiece_encode(w, "কাকা ab, x", 13, &t);
            bh_tokens_free(&t);
            bh_wordpiece_free(w);
        }
        break;
    }
    default:
        if ((fd = fuzz_memfile(d, len, p, sizeof p)) < 0) break;
        if (sel == 6) {
            bh_crf_tagger *t = NULL;
            if (bh_crf_tagger_load(p, &t) == BH_OK) {
                static const char *w[3] = {"রহিম", "ঢাকায়", "যান"};
                const char *tags[3];
                bh_crf_tagger_tag(t, w, 3, tags);
                bh_crf_tagger_free(t);
            }
        } else if (sel == 9) {
            bh_shard_reader *r = NULL;
            const char *paths[1] = {p};
            if (bh_shard_reader_open(paths, 1, 2, &r) == BH_OK) {
                int32_t win[8];
                char pos[128];
                for (int k = 0; k < 64 && bh_shard_reader_next(r, win, 8) == BH_OK; k++)
                    if (bh_shard_reader_tell(r, pos, sizeof pos) || bh_shard_reader_seek(r, pos)) fuzz_die("shard tell/seek");
                bh_shard_reader_free(r);
            }
        } else if (sel == 10) {
            bh_optim_config oc;
            bh_optim_config_default(&oc);
            bh_optim *o = NULL;
            char *extra = NULL;
            if (bh_optim_new(tiny, &oc, &o)) fuzz_die("optimizer");
            (void)bh_optim_load(o, p, &extra);
            free(extra);
            bh_optim_free(o);
        } else if (sel == 7) {
            bh_word_clusters *wc = NULL;
            if (bh_word_clusters_load(p, &wc) == BH_OK) bh_word_clusters_free(wc);
        } else {
            bh_digits_model *m = NULL;
            if (bh_digits_load(p, &m) == BH_OK) {
                uint8_t px[28 * 28];
                memset(px, 255, sizeof px);
                memset(px + 300, 0, 100);
                int label;
                float score;
                bh_digits_predict(m, px, 28, 28, &label, &score);
                bh_digits_model_free(m);
            }
        }
        close(fd);
    }
    return 0;
}

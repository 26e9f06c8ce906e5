/* models/checkpoint.c — model directories: config.json (jansson) and
 * model.safetensors, written atomically; loading copies the weights into one
 * allocation or, with BH_MODEL_MMAP, uses the mapping in place. */
#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "models/transformer.h"

static const char *const INT_KEYS[] = {"vocab", "max_len", "dim", "layers", "heads",
                                       "ffn",   "pre_ln",  "pad_id", "mask_id"};

static int *int_field(bh_model_config *c, int i)
{
    int *f[] = {&c->vocab, &c->max_len, &c->dim, &c->layers, &c->heads,
                &c->ffn,   &c->pre_ln,  &c->pad_id, &c->mask_id};
    return f[i];
}

bh_status bh_model_config_load(const char *path, bh_model_config *c)
{
    if (!path || !c) return bh__fail(BH_EINVAL, "bh_model_config_load: NULL argument");
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f) return bh__fail(BH_ENOTFOUND, "%s: %s", path, strerror(errno));
        fclose(f);
        return bh__fail(BH_EFORMAT, "%s line %d: %s", path, err.line, err.text);
    }
    bh_status st = BH_OK;
    if (!json_is_object(root)) {
        st = bh__fail(BH_EFORMAT, "%s: config is not a JSON object", path);
        goto done;
    }
    json_t *arch = json_object_get(root, "arch");
    if (!json_is_string(arch) || (strcmp(json_string_value(arch), "encoder") &&
                                  strcmp(json_string_value(arch), "decoder"))) {
        st = bh__fail(BH_EFORMAT, "%s: \"arch\" must be \"encoder\" or \"decoder\"", path);
        goto done;
    }
    bh_model_config_default(c, strcmp(json_string_value(arch), "encoder") ? BH_ARCH_DECODER
                                                                           : BH_ARCH_ENCODER);
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (!strcmp(k, "arch")) continue;
        if (!strcmp(k, "task_heads")) { /* stored with the encoder: bhasha/heads.h */
            if (!json_is_object(v)) {
                st = bh__fail(BH_EFORMAT, "%s: \"task_heads\" must be an object", path);
                goto done;
            }
            continue;
        }
        if (!strcmp(k, "ln_eps") || !strcmp(k, "dropout")) {
            if (!json_is_number(v)) {
                st = bh__fail(BH_EFORMAT, "%s: \"%s\" must be a number", path, k);
                goto done;
            }
            *(!strcmp(k, "ln_eps") ? &c->ln_eps : &c->dropout) = (float)json_number_value(v);
            continue;
        }
        size_t i = 0;
        while (i < sizeof INT_KEYS / sizeof *INT_KEYS && strcmp(INT_KEYS[i], k)) i++;
        if (i == sizeof INT_KEYS / sizeof *INT_KEYS) {
            st = bh__fail(BH_EFORMAT, "%s: unknown key \"%s\"", path, k);
            goto done;
        }
        if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > (1 << 24)) {
            st = bh__fail(BH_EFORMAT, "%s: \"%s\" must be an integer in range", path, k);
            goto done;
        }
        *int_field(c, (int)i) = (int)json_integer_value(v);
    }
    st = bh_model_config_check(c);
    if (st) {
        char detail[256]; /* bh_last_error() is the buffer bh__fail writes */
        snprintf(detail, sizeof detail, "%s", bh_last_error());
        st = bh__fail(st, "%s: %s", path, detail);
    }
done:
    json_decref(root);
    return st;
}

static char *config_json(const bh_model_config *c, const char *heads_json)
{
    json_t *heads = NULL;
    if (heads_json) {
        heads = json_loads(heads_json, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(heads)) {
            json_decref(heads);
            return NULL;
        }
    }
    json_t *o = json_object();
    json_object_set_new(o, "arch", json_string(c->arch == BH_ARCH_ENCODER ? "encoder" : "decoder"));
    bh_model_config cc = *c;
    for (size_t i = 0; i < sizeof INT_KEYS / sizeof *INT_KEYS; i++)
        json_object_set_new(o, INT_KEYS[i], json_integer(*int_field(&cc, (int)i)));
    json_object_set_new(o, "ln_eps", json_real(c->ln_eps));
    json_object_set_new(o, "dropout", json_real(c->dropout));
    if (heads) json_object_set_new(o, "task_heads", heads);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(o);
    return s;
}

static bh_status config_save(const char *path, const bh_model_config *c, const char *heads_json)
{
    bh_status st = bh_model_config_check(c);
    if (st) return st;
    char *s = config_json(c, heads_json);
    if (!s) return bh__fail(heads_json ? BH_EINVAL : BH_ENOMEM, "%s", heads_json ? "task heads: not a JSON object" : "out of memory");
    bh__atomic a;
    if ((st = bh__atomic_open(&a, path))) {
        free(s);
        return st;
    }
    fputs(s, a.f);
    fputc('\n', a.f);
    free(s);
    return bh__atomic_commit(&a);
}

bh_status bh_model_config_save(const char *path, const bh_model_config *c) { return config_save(path, c, NULL); }

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

bh_status bh__model_save_ext(const bh_model *m, const char *dir, const bh__st_entry *extra, int nextra,
                             const char *heads_json)
{
    if (!m || !dir || (nextra && !extra)) return bh__fail(BH_EINVAL, "bh_model_save: NULL argument");
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return bh__fail(BH_EIO, "%s: %s", dir, strerror(errno));
    char *cp = join(dir, "config.json"), *wp = join(dir, "model.safetensors");
    bh__st_entry *e = calloc((size_t)m->ntensors + (size_t)nextra, sizeof *e);
    bh_status st;
    if (!cp || !wp || !e) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < m->ntensors; i++) {
        const bh__tensor *t = &m->tensors[i];
        e[i].name = t->name;
        e[i].ndim = t->ndim;
        e[i].shape[0] = t->shape[0];
        e[i].shape[1] = t->shape[1];
        e[i].data = m->params + t->off;
    }
    /* the model's tensors first: their offsets stay those of the layout, so
     * BH_MODEL_MMAP can still use the file in place */
    for (int i = 0; i < nextra; i++) e[m->ntensors + i] = extra[i];
    const char *mk[] = {"format", "arch"};
    const char *mv[] = {"bhasha", m->c.arch == BH_ARCH_ENCODER ? "encoder" : "decoder"};
    if ((st = bh__st_write(wp, e, m->ntensors + nextra, mk, mv, 2))) goto done;
    st = config_save(cp, &m->c, heads_json);
done:
    free(cp);
    free(wp);
    free(e);
    return st;
}

bh_status bh_model_save(const bh_model *m, const char *dir) { return bh__model_save_ext(m, dir, NULL, 0, NULL); }

bh_status bh_model_load(const char *dir, int flags, bh_model **out)
{
    if (!dir || !out) return bh__fail(BH_EINVAL, "bh_model_load: NULL argument");
    *out = NULL;
    char *cp = join(dir, "config.json"), *wp = join(dir, "model.safetensors");
    bh_model *m = NULL;
    bh_status st;
    bh_model_config c;
    if (!cp || !wp) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    if ((st = bh_model_config_load(cp, &c)) || (st = bh__model_shell(&c, &m))) goto done;
    if ((st = bh__st_open(wp, &m->st))) goto done;
    /* Every expected tensor must be present with the right dtype and shape;
     * no extra tensors either (a config that does not match its weights). */
    int contiguous = (m->st.data_start % 4) == 0;
    int parts = 0; /* the file tensors beyond one a matrix stored as int8 rows takes (Q8) */
    for (int i = 0; i < m->ntensors; i++) {
        const bh__tensor *t = &m->tensors[i];
        const bh__st_tensor *s = bh__st_find(&m->st, t->name);
        int np = s || t->ndim != 2 ? 0 : bh__st_sparse_find(&m->st, t->name);
        if (np) {
            /* checked before the parameters are allocated: a row-index table's
               size is not bounded by the file's */
            if ((st = bh__st_sparse_check(&m->st, t->name, t->shape[0], t->shape[1]))) goto done;
            parts += np - 1;
            contiguous = 0;
            continue;
        }
        if (!s) {
            st = bh__fail(BH_EFORMAT, "%s: tensor %s is missing", wp, t->name);
            goto done;
        }
        int ok = bh__st_is_float(s) && s->ndim == t->ndim && s->shape[0] == t->shape[0] &&
                 (t->ndim == 1 || s->shape[1] == t->shape[1]);
        if (!ok) {
            st = bh__fail(BH_ESHAPE, "%s: tensor %s: file has %s [%lld%s%lld], config %s needs a float tensor [%d,%d]",
                          wp, t->name, s->dtype, (long long)s->shape[0], s->ndim > 1 ? "," : "",
                          s->ndim > 1 ? (long long)s->shape[1] : 0LL, cp, t->shape[0],
                          t->ndim > 1 ? t->shape[1] : 0);
            goto done;
        }
        if (s->offset != t->off * 4 || strcmp(s->dtype, "F32")) contiguous = 0; /* F16/BF16 are widened */
    }
    int own = 0; /* tensors of task heads ("head.NAME.*") are read by bh_heads_load */
    for (int i = 0; i < m->st.ntensors; i++) own += strncmp(m->st.t[i].name, "head.", 5) != 0;
    if (own - parts != m->ntensors) {
        st = bh__fail(BH_EFORMAT, "%s: %d tensors, config %s needs %d", wp, own - parts, cp, m->ntensors);
        goto done;
    }
    /* Weights that are NaN or infinite make every output NaN: refused with
     * the tensor named, mapped or widened alike. */
    if ((flags & BH_MODEL_MMAP) && contiguous) {
        m->params = (float *)((unsigned char *)m->st.map + m->st.data_start);
        m->mapped = 1;
        for (int i = 0; i < m->ntensors; i++) {
            const bh__tensor *t = &m->tensors[i];
            if ((st = bh__st_check_finite(BH_EFORMAT, wp, t->name, m->params + t->off, t->n))) goto done;
        }
    } else {
        m->params = malloc(m->nparams * sizeof(float));
        if (!m->params) {
            st = bh__fail(BH_ENOMEM, "%s: cannot allocate %zu parameters", wp, m->nparams);
            goto done;
        }
        for (int i = 0; i < m->ntensors; i++) {
            const bh__tensor *t = &m->tensors[i];
            const bh__st_tensor *s = bh__st_find(&m->st, t->name);
            if (s) {
                bh__st_to_f32(s, m->params + t->off);
                if ((st = bh__st_check_finite(BH_EFORMAT, wp, t->name, m->params + t->off, t->n))) goto done;
                continue;
            }
            if ((st = bh__st_sparse_read(&m->st, t->name, t->shape[0], t->shape[1], m->params + t->off))) goto done;
        }
        bh__st_close(&m->st);
    }
    bh__model_bind(m, m->params, &m->w);
    *out = m;
    m = NULL;
done:
    bh_model_free(m);
    free(cp);
    free(wp);
    return st;
}

/* 1 when t is the I32 row index, the I8 values of an int8-row table or the
 * F16 values of an F16-row table of f (models/safetensors.h), which convert
 * copies unchanged: the table's full row count is not in the file, only in
 * the config that reads it. */
static int sparse_part(const bh__st_file *f, const bh__st_tensor *t)
{
    size_t n = strlen(t->name);
    int rows = n > 5 && !strcmp(t->name + n - 5, ".rows") && !strcmp(t->dtype, "I32") && t->ndim == 1;
    int q8 = n > 3 && !strcmp(t->name + n - 3, ".q8") && !strcmp(t->dtype, "I8") && t->ndim == 2;
    int half = n > 4 && !strcmp(t->name + n - 4, ".f16") && !strcmp(t->dtype, "F16") && t->ndim == 2;
    if (!rows && !q8 && !half) return 0;
    char base[96];
    size_t k = n - (rows ? 5 : q8 ? 3 : 4);
    if (k >= sizeof base) return 0;
    memcpy(base, t->name, k);
    base[k] = 0;
    return bh__st_sparse_find(f, base);
}

/* in_dir/name -> out_dir/name, atomically. */
static bh_status copy_beside(const char *in_dir, const char *out_dir, const char *name)
{
    char *from = join(in_dir, name), *to = join(out_dir, name);
    bh_status st = from && to ? bh__atomic_copy(from, to) : bh__fail(BH_ENOMEM, "out of memory");
    free(from), free(to);
    return st;
}

/* Copies every file of in_dir that a string of v (finetune.json, walked
 * whole) names: the tokenizer, a fused head's word clusters, whatever a
 * later setting adds. Only a plain name of a regular file beside it counts,
 * never a path; a string that names nothing there (a task, a metric) is
 * not a file. seen holds the names already copied, and those convert
 * writes itself, which a setting must not replace. */
static bh_status copy_named(json_t *v, const char *in_dir, const char *out_dir, json_t *seen)
{
    bh_status st = BH_OK;
    if (json_is_array(v)) {
        for (size_t i = 0; !st && i < json_array_size(v); i++)
            st = copy_named(json_array_get(v, i), in_dir, out_dir, seen);
        return st;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            if ((st = copy_named(x, in_dir, out_dir, seen))) break;
        }
        return st;
    }
    const char *name = json_string_value(v);
    if (!name || !*name || strlen(name) != json_string_length(v) || strchr(name, '/') || json_object_get(seen, name))
        return BH_OK;
    char *from = join(in_dir, name);
    if (!from) return bh__fail(BH_ENOMEM, "out of memory");
    struct stat sb;
    int file = stat(from, &sb) == 0 && S_ISREG(sb.st_mode);
    free(from);
    if (!file) return BH_OK;
    if (json_object_set_new(seen, name, json_true())) return bh__fail(BH_ENOMEM, "out of memory");
    return copy_beside(in_dir, out_dir, name);
}

/* in_dir's finetune.json (the fine-tuning run's settings: QA windows, the
 * fused heads' weights) and the files it names, when it has one. */
static bh_status copy_settings(const char *in_dir, const char *out_dir)
{
    char *path = join(in_dir, "finetune.json");
    if (!path) return bh__fail(BH_ENOMEM, "out of memory");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        free(path);
        return BH_OK;
    }
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je), *seen = json_object(); /* as the readers of it load it */
    bh_status st = BH_OK;
    if (!j) st = bh__fail(BH_EFORMAT, "%s line %d: %s", path, je.line, je.text);
    else if (!seen) st = bh__fail(BH_ENOMEM, "out of memory");
    const char *own[] = {"model.safetensors", "config.json", "finetune.json", "tokenizer.model"};
    for (size_t i = 0; !st && i < sizeof own / sizeof *own; i++)
        if (json_object_set_new(seen, own[i], json_true())) st = bh__fail(BH_ENOMEM, "out of memory");
    if (!st) st = copy_named(j, in_dir, out_dir, seen);
    /* last, so that it never names a file not yet there */
    if (!st) st = copy_beside(in_dir, out_dir, "finetune.json");
    json_decref(j);
    json_decref(seen);
    free(path);
    return st;
}

/* The number of values of t, a vector or matrix. */
static size_t st_count(const bh__st_tensor *t)
{
    return (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
}

/* *order = f's tensor indices in the order of their data, so that a file
 * written in that order keeps the layout BH_MODEL_MMAP maps in place.
 * Caller frees. */
static bh_status data_order(const bh__st_file *f, int **order)
{
    int *o = calloc((size_t)f->ntensors + 1, sizeof *o);
    if (!o) return bh__fail(BH_ENOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < f->ntensors; i++) {
        int j = i;
        while (j > 0 && f->t[o[j - 1]].offset > f->t[i].offset) o[j] = o[j - 1], j--;
        o[j] = i;
    }
    *order = o;
    return BH_OK;
}

/* What a rewritten model keeps of in_dir beside its weights: config.json,
 * tokenizer.model when there is one, and the fine-tuning settings. */
static bh_status copy_companions(const char *in_dir, const char *out_dir)
{
    char *ci = join(in_dir, "config.json"), *co = join(out_dir, "config.json");
    char *ti = join(in_dir, "tokenizer.model"), *to = join(out_dir, "tokenizer.model");
    bh_status st = ci && co && ti && to ? bh__atomic_copy(ci, co) : bh__fail(BH_ENOMEM, "out of memory");
    if (!st) st = bh__atomic_copy(ti, to);
    if (st == BH_ENOTFOUND) st = BH_OK; /* a model without its tokenizer stays one */
    if (!st) st = copy_settings(in_dir, out_dir);
    free(ci), free(co), free(ti), free(to);
    return st;
}

bh_status bh_model_convert(const char *in_dir, const char *out_dir, const char *dtype)
{
    if (!in_dir || !out_dir || !dtype) return bh__fail(BH_EINVAL, "bh_model_convert: NULL argument");
    /* q8 == 1: the heads' hashed tables as int8 rows; 2: every matrix */
    int q8 = !strcmp(dtype, "F16-Q8") || !strcmp(dtype, "f16-q8") ? 1 : !strcmp(dtype, "Q8") || !strcmp(dtype, "q8") ? 2 : 0;
    int f16 = q8 || !strcmp(dtype, "F16") || !strcmp(dtype, "f16");
    if (!f16 && strcmp(dtype, "F32") && strcmp(dtype, "f32"))
        return bh__fail(BH_EINVAL, "bh_model_convert: dtype %s (F16, F16-Q8, Q8 or F32)", dtype);
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST)
        return bh__fail(BH_EIO, "%s: %s", out_dir, strerror(errno));
    char *wi = join(in_dir, "model.safetensors"), *wo = join(out_dir, "model.safetensors");
    bh__st_file f;
    memset(&f, 0, sizeof f);
    bh__st_entry *e = NULL;
    float *buf = NULL;
    int *order = NULL;
    char (*names)[96] = NULL; /* 3 per tensor: the names of a sparse table's parts */
    void **parts = NULL;      /* 3 per tensor: their data */
    int ne = 0, np = 0;       /* entries written, parts[] and names[] used */
    bh_status st;
    if (!wi || !wo) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    if ((st = bh__st_open(wi, &f))) goto done;
    size_t total = 0;
    for (int i = 0; i < f.ntensors; i++) {
        const bh__st_tensor *t = &f.t[i];
        if (sparse_part(&f, t)) continue;
        if (!bh__st_is_float(t) || t->ndim < 1 || t->ndim > 2) {
            st = bh__fail(BH_EFORMAT, "%s: tensor %s: %s with %d dimensions is not a model weight", wi, t->name,
                          t->dtype, t->ndim);
            goto done;
        }
        total += st_count(t);
    }
    e = calloc(3 * (size_t)f.ntensors + 1, sizeof *e);
    names = calloc(3 * (size_t)f.ntensors + 1, sizeof *names);
    parts = calloc(3 * (size_t)f.ntensors + 1, sizeof *parts);
    buf = malloc((total + 1) * sizeof(float));
    if (!e || !names || !parts || !buf) {
        st = bh__fail(BH_ENOMEM, "%s: out of memory", wi);
        goto done;
    }
    if ((st = data_order(&f, &order))) goto done;
    size_t off = 0;
    for (int k = 0; k < f.ntensors; k++) {
        const bh__st_tensor *t = &f.t[order[k]];
        /* the entry for t as it is (filled in below unless it goes sparse) */
        e[ne].name = t->name;
        e[ne].ndim = t->ndim;
        e[ne].shape[0] = t->shape[0];
        e[ne].shape[1] = t->ndim == 2 ? t->shape[1] : 0;
        if (sparse_part(&f, t)) { /* already int8 rows: kept as they are */
            e[ne].raw_dtype = t->dtype;
            e[ne++].raw = t->data;
            continue;
        }
        bh__st_to_f32(t, buf + off);
        size_t cnt = st_count(t);
        if ((st = bh__st_check_finite(BH_ENUMERIC, wi, t->name, buf + off, cnt))) goto done;
        size_t ln = strlen(t->name);
        /* the hashed tables of task heads (head.NAME.feat.w) go sparse (their
         * non-zero rows and a row index); with Q8 every other matrix becomes
         * int8 rows too, all of them, without an index */
        int table = !strncmp(t->name, "head.", 5) && ln > 7 && !strcmp(t->name + ln - 7, ".feat.w");
        if (t->ndim == 2 && (q8 == 2 || (q8 && table))) {
            int made;
            st = bh__st_sparse_make(t->name, buf + off, t->shape[0], t->shape[1], !table, e + ne, &made, names + np,
                                    (int32_t **)&parts[np], (int8_t **)&parts[np + 1], (float **)&parts[np + 2]);
            np += 3;
            if (st) {
                char detail[256]; /* bh_last_error() is the buffer bh__fail writes */
                snprintf(detail, sizeof detail, "%s", bh_last_error());
                st = bh__fail(st, "%s: %s", wi, detail);
                goto done;
            }
            ne += made;
        } else {
            if (f16 && (st = bh__st_check_f16(wi, t->name, buf + off, cnt))) goto done;
            e[ne].data = buf + off;
            e[ne++].f16 = f16;
        }
        off += cnt;
    }
    if (!(st = bh__st_write(wo, e, ne, (const char *const *)f.meta_keys, (const char *const *)f.meta_vals, f.nmeta)))
        st = copy_companions(in_dir, out_dir);
done:
    bh__st_close(&f);
    for (int i = 0; parts && i < np; i++) free(parts[i]);
    free(e), free(names), free(parts), free(buf), free(order);
    free(wi), free(wo);
    return st;
}

/* finetune.json for an averaged model: the first model's settings, without
 * its dev scores (they were measured on that model alone), with the average
 * recorded. Missing: nothing to write. */
static bh_status average_settings(const char *in_dir, const char *out_dir, const float *w, int n)
{
    char *path = join(in_dir, "finetune.json"), *to = join(out_dir, "finetune.json");
    bh_status st = BH_OK;
    json_t *j = NULL, *ws = NULL, *avg = NULL;
    struct stat sb;
    if (!path || !to) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    if (stat(path, &sb) != 0) goto done;
    json_error_t je;
    if (!(j = json_load_file(path, 0, &je))) {
        st = bh__fail(BH_EFORMAT, "%s line %d: %s", path, je.line, je.text);
        goto done;
    }
    if (!json_is_object(j)) {
        st = bh__fail(BH_EFORMAT, "%s: not a JSON object", path);
        goto done;
    }
    json_object_del(j, "dev");
    json_object_del(j, "best_epoch");
    json_t *tasks = json_object_get(j, "tasks");
    for (size_t i = 0; i < json_array_size(tasks); i++) json_object_del(json_array_get(tasks, i), "dev");
    ws = json_array();
    avg = json_object();
    if (!ws || !avg) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (json_array_append_new(ws, json_real(w[i]))) {
            st = bh__fail(BH_ENOMEM, "out of memory");
            goto done;
        }
    if (json_object_set_new(avg, "models", json_integer(n)) || json_object_set(avg, "weights", ws) ||
        json_object_set(j, "average", avg)) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    st = bh__atomic_write_json(j, to, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
done:
    json_decref(j), json_decref(ws), json_decref(avg);
    free(path), free(to);
    return st;
}

bh_status bh_model_average(const char *const *in_dirs, const float *weights, int n, const char *out_dir)
{
    if (!in_dirs || !out_dir || n < 1) return bh__fail(BH_EINVAL, "bh_model_average: NULL argument or no model");
    for (int i = 0; i < n; i++)
        if (!in_dirs[i]) return bh__fail(BH_EINVAL, "bh_model_average: NULL model directory");
    bh__st_file *f = calloc((size_t)n, sizeof *f);
    float *w = malloc((size_t)n * sizeof *w), *buf = NULL, *tmp = NULL;
    char *wo = join(out_dir, "model.safetensors"), *wi = NULL, *ci = NULL;
    json_t *c0 = NULL;
    bh__st_entry *e = NULL;
    int *order = NULL;
    bh_status st = BH_OK;
    if (!f || !w || !wo) {
        st = bh__fail(BH_ENOMEM, "out of memory");
        goto done;
    }
    /* the weights, normalized to sum 1 */
    double sum = 0;
    for (int i = 0; i < n; i++) {
        float x = weights ? weights[i] : 1.0f;
        if (!(x >= 0 && x <= FLT_MAX)) {
            st = bh__fail(BH_EINVAL, "bh_model_average: weight %d is %g (finite and >= 0)", i + 1, (double)x);
            goto done;
        }
        sum += x;
    }
    if (!(sum > 0)) {
        st = bh__fail(BH_EINVAL, "bh_model_average: the weights sum to 0");
        goto done;
    }
    for (int i = 0; i < n; i++) w[i] = (float)((weights ? weights[i] : 1.0f) / sum);
    /* same architecture and heads: config.json equal as JSON */
    for (int i = 0; i < n; i++) {
        free(ci);
        if (!(ci = join(in_dirs[i], "config.json"))) {
            st = bh__fail(BH_ENOMEM, "out of memory");
            goto done;
        }
        bh_model_config c;
        if ((st = bh_model_config_load(ci, &c))) goto done; /* checked as loading would */
        json_error_t je;
        json_t *cj = json_load_file(ci, 0, &je);
        if (!cj) {
            st = bh__fail(BH_EFORMAT, "%s line %d: %s", ci, je.line, je.text);
            goto done;
        }
        if (!c0) c0 = cj;
        else {
            int same = json_equal(c0, cj);
            json_decref(cj);
            if (!same) {
                st = bh__fail(BH_EINVAL, "%s differs from %s/config.json: only models of one architecture and one set "
                                         "of heads average",
                              ci, in_dirs[0]);
                goto done;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        free(wi);
        if (!(wi = join(in_dirs[i], "model.safetensors"))) {
            st = bh__fail(BH_ENOMEM, "out of memory");
            goto done;
        }
        if ((st = bh__st_open(wi, &f[i]))) goto done;
    }
    /* every tensor a float tensor (not convert's sparse rows, which hold no
     * full matrix to average) present in every model with the same shape */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < f[i].ntensors; k++) {
            const bh__st_tensor *s = &f[i].t[k];
            if (sparse_part(&f[i], s) || !bh__st_is_float(s) || s->ndim < 1 || s->ndim > 2) {
                st = bh__fail(BH_EFORMAT,
                              "%s/model.safetensors: tensor %s: %s [%d dimensions] does not average (int8 or F16 rows "
                              "from model convert: average the F32 or F16 models)",
                              in_dirs[i], s->name, s->dtype, s->ndim);
                goto done;
            }
        }
    size_t total = 0, most = 0;
    for (int k = 0; k < f[0].ntensors; k++) {
        const bh__st_tensor *t = &f[0].t[k];
        for (int i = 1; i < n; i++) {
            const bh__st_tensor *s = bh__st_find(&f[i], t->name);
            if (!s || s->ndim != t->ndim || s->shape[0] != t->shape[0] || (t->ndim == 2 && s->shape[1] != t->shape[1])) {
                st = bh__fail(BH_ESHAPE, "%s/model.safetensors: tensor %s %s %s/model.safetensors", in_dirs[i], t->name,
                              s ? "has another shape than in" : "is missing, present in", in_dirs[0]);
                goto done;
            }
        }
        size_t cnt = st_count(t);
        total += cnt;
        if (cnt > most) most = cnt;
    }
    for (int i = 1; i < n; i++)
        if (f[i].ntensors != f[0].ntensors) {
            st = bh__fail(BH_ESHAPE, "%s/model.safetensors: %d tensors, %s/model.safetensors %d", in_dirs[i],
                          f[i].ntensors, in_dirs[0], f[0].ntensors);
            goto done;
        }
    e = calloc((size_t)f[0].ntensors + 1, sizeof *e);
    buf = malloc((total + 1) * sizeof *buf);
    tmp = malloc((most + 1) * sizeof *tmp);
    if (!e || !buf || !tmp) {
        st = bh__fail(BH_ENOMEM, "out of memory averaging %zu weights", total);
        goto done;
    }
    /* written in the order of the first model's data, as convert does */
    if ((st = data_order(&f[0], &order))) goto done;
    size_t off = 0;
    for (int k = 0; k < f[0].ntensors; k++) {
        const bh__st_tensor *t = &f[0].t[order[k]];
        size_t cnt = st_count(t);
        float *acc = buf + off;
        memset(acc, 0, cnt * sizeof *acc);
        for (int i = 0; i < n; i++) {
            bh__st_to_f32(i ? bh__st_find(&f[i], t->name) : t, tmp);
            if ((st = bh__st_check_finite(BH_EFORMAT, in_dirs[i], t->name, tmp, cnt))) goto done;
            for (size_t x = 0; x < cnt; x++) acc[x] += w[i] * tmp[x];
        }
        e[k].name = t->name;
        e[k].ndim = t->ndim;
        e[k].shape[0] = t->shape[0];
        e[k].shape[1] = t->ndim == 2 ? t->shape[1] : 0;
        e[k].data = acc;
        off += cnt;
    }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        st = bh__fail(BH_EIO, "%s: %s", out_dir, strerror(errno));
        goto done;
    }
    st = bh__st_write(wo, e, f[0].ntensors, (const char *const *)f[0].meta_keys,
                      (const char *const *)f[0].meta_vals, f[0].nmeta);
    if (!st) st = copy_companions(in_dirs[0], out_dir);
    if (!st) st = average_settings(in_dirs[0], out_dir, w, n);
done:
    for (int i = 0; f && i < n; i++) bh__st_close(&f[i]);
    json_decref(c0);
    free(f), free(w), free(buf), free(tmp), free(e), free(order);
    free(wo), free(wi), free(ci);
    return st;
}

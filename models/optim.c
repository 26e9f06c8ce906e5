/* models/optim.c — AdamW (decoupled weight decay, as torch.optim.AdamW) with a
 * warm-up + constant/linear/cosine learning-rate schedule. The optimizer owns
 * two moment arrays laid out like the model's parameters. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/transformer.h"

struct bh_optim {
    bh_optim_config c;
    size_t n;
    float *m, *v;   /* first and second moments [nparams] */
    uint8_t *decay; /* per tensor: 1 = weight decay applies (2-D) */
    int ntensors;
    long step;
};

void bh_optim_config_default(bh_optim_config *c)
{
    c->lr = 5e-4f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
    c->weight_decay = 0.01f;
    c->warmup = 0;
    c->total_steps = 0;
    c->sched = BH_SCHED_CONSTANT;
}

float bh_optim_lr(const bh_optim_config *c, long s)
{
    if (c->warmup > 0 && s < c->warmup) return c->lr * (float)(s + 1) / (float)c->warmup;
    if (c->sched == BH_SCHED_CONSTANT || c->total_steps <= c->warmup) return c->lr;
    double prog = (double)(s - c->warmup) / (double)(c->total_steps - c->warmup);
    if (prog > 1.0) prog = 1.0;
    if (c->sched == BH_SCHED_LINEAR) return (float)(c->lr * (1.0 - prog));
    return (float)(c->lr * 0.5 * (1.0 + cos(3.141592653589793 * prog)));
}

bh_status bh__optim_new_tensors(const bh__tensor *t, int nt, size_t nparams, const bh_optim_config *c,
                                bh_optim **out)
{
    if (!t || !c || !out) return bh__fail(BH_EINVAL, "bh_optim_new: NULL argument");
    if (!(c->lr >= 0.0f) || !(c->beta1 >= 0.0f && c->beta1 < 1.0f) ||
        !(c->beta2 >= 0.0f && c->beta2 < 1.0f) || !(c->eps > 0.0f) || !(c->weight_decay >= 0.0f))
        return bh__fail(BH_EINVAL, "bh_optim_new: hyper-parameter out of range");
    bh_optim *o = calloc(1, sizeof *o);
    if (!o) return bh__fail(BH_ENOMEM, "out of memory");
    o->c = *c;
    o->n = nparams;
    o->ntensors = nt;
    o->m = calloc(o->n, sizeof(float));
    o->v = calloc(o->n, sizeof(float));
    o->decay = calloc((size_t)nt, 1);
    if (!o->m || !o->v || !o->decay) {
        bh_optim_free(o);
        return bh__fail(BH_ENOMEM, "optimizer: cannot allocate moments");
    }
    for (int i = 0; i < nt; i++) o->decay[i] = t[i].ndim == 2;
    *out = o;
    return BH_OK;
}

bh_status bh_optim_new(const bh_model *m, const bh_optim_config *c, bh_optim **out)
{
    if (!m) return bh__fail(BH_EINVAL, "bh_optim_new: NULL argument");
    return bh__optim_new_tensors(m->tensors, m->ntensors, m->nparams, c, out);
}

void bh_optim_free(bh_optim *o)
{
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o->decay);
    free(o);
}

long bh_optim_steps(const bh_optim *o) { return o ? o->step : 0; }

bh_status bh__optim_update(bh_optim *o, const bh__tensor *tensors, int nt, size_t nparams, float *params,
                           const float *grads, const uint8_t *frozen, long sched_step)
{
    if (nparams != o->n || nt != o->ntensors)
        return bh__fail(BH_ESHAPE, "bh_optim_step: optimizer built for another model");
    /* the schedule runs on the caller's step when given; Adam's bias
     * correction always counts this optimizer's own updates */
    float lr = bh_optim_lr(&o->c, sched_step >= 0 ? sched_step : o->step);
    o->step++;
    float b1 = o->c.beta1, b2 = o->c.beta2;
    float bc1 = 1.0f - powf(b1, (float)o->step), bc2 = 1.0f - powf(b2, (float)o->step);
    /* torch: p -= lr*wd*p; m,v updated; p -= (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps) */
    float step_size = lr / bc1, sbc2 = sqrtf(bc2), eps = o->c.eps;
    for (int t = 0; t < nt; t++) {
        if (frozen && frozen[t]) continue; /* bh_model_freeze: no update, no decay */
        const bh__tensor *tt = &tensors[t];
        float *p = params + tt->off;
        const float *g = grads + tt->off;
        float *mm = o->m + tt->off, *vv = o->v + tt->off;
        float shrink = o->decay[t] ? 1.0f - lr * o->c.weight_decay : 1.0f;
        for (size_t i = 0; i < tt->n; i++) {
            p[i] *= shrink;
            mm[i] = b1 * mm[i] + (1.0f - b1) * g[i];
            vv[i] = b2 * vv[i] + (1.0f - b2) * g[i] * g[i];
            p[i] -= step_size * mm[i] / (sqrtf(vv[i]) / sbc2 + eps);
        }
    }
    return BH_OK;
}

bh_status bh_optim_step(bh_optim *o, bh_model *m)
{
    if (!o || !m) return bh__fail(BH_EINVAL, "bh_optim_step: NULL argument");
    if (!m->grads || m->mapped) return bh__fail(BH_EINVAL, "bh_optim_step: model has no gradients");
    return bh__optim_update(o, m->tensors, m->ntensors, m->nparams, m->params, m->grads, m->frozen, -1);
}

bh_status bh_optim_save(const bh_optim *o, const char *path, const char *extra)
{
    if (!o || !path) return bh__fail(BH_EINVAL, "bh_optim_save: NULL argument");
    char steps[32];
    snprintf(steps, sizeof steps, "%ld", o->step);
    bh__st_entry e[2] = {{.name = "adam.m", .ndim = 1, .shape = {(int64_t)o->n, 0}, .data = o->m},
                         {.name = "adam.v", .ndim = 1, .shape = {(int64_t)o->n, 0}, .data = o->v}};
    const char *mk[] = {"step", "extra"};
    const char *mv[] = {steps, extra ? extra : ""};
    return bh__st_write(path, e, 2, mk, mv, 2);
}

bh_status bh_optim_load(bh_optim *o, const char *path, char **extra)
{
    if (!o || !path) return bh__fail(BH_EINVAL, "bh_optim_load: NULL argument");
    bh__st_file f;
    bh_status st = bh__st_open(path, &f);
    if (st) return st;
    const bh__st_tensor *m = bh__st_find(&f, "adam.m"), *v = bh__st_find(&f, "adam.v");
    const char *steps = bh__st_meta(&f, "step"), *ex = bh__st_meta(&f, "extra");
    char *end = NULL;
    long s = steps ? strtol(steps, &end, 10) : -1;
    if (!m || !v || strcmp(m->dtype, "F32") || strcmp(v->dtype, "F32") || m->ndim != 1 ||
        v->ndim != 1) {
        st = bh__fail(BH_EFORMAT, "%s: needs F32 tensors adam.m and adam.v", path);
    } else if ((size_t)m->shape[0] != o->n || (size_t)v->shape[0] != o->n) {
        st = bh__fail(BH_ESHAPE, "%s: tensor adam.m has %lld values, the model has %zu parameters",
                      path, (long long)m->shape[0], o->n);
    } else if (!steps || *end || s < 0) {
        st = bh__fail(BH_EFORMAT, "%s: metadata \"step\" missing or invalid", path);
    } else {
        memcpy(o->m, m->data, m->nbytes);
        memcpy(o->v, v->data, v->nbytes);
        o->step = s;
        if (extra) {
            *extra = strdup(ex ? ex : "");
            if (!*extra) st = bh__fail(BH_ENOMEM, "out of memory");
        }
    }
    bh__st_close(&f);
    return st;
}

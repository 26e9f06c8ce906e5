/* corpora/reader_impl.h — private: the reader object shared by the format
 * parsers (reader.c for line formats and SQuAD, wiki.c for MediaWiki XML). */
#ifndef BH_CORPORA_READER_IMPL_H
#define BH_CORPORA_READER_IMPL_H

#include "bhasha/corpus.h"
#include "corpora/source.h"

#define BH__MAX_PROBLEMS 20

struct bh_corpus {
    bh_corpus_options o;
    bh__src src;
    bh_buf line;
    int unread;          /* `line` holds a line read ahead: the next line to hand out again */
    long index;
    long skipped;
    char *problems[BH__MAX_PROBLEMS];
    int done;            /* end of input reached or stopped */
    bh_status stop_err;  /* returned again after a stop */
    long rec_line;       /* line where the current record started */
    /* record storage, reused */
    bh_buf text, label, id, title, question, arena;
    size_t *offs, offs_cap, n_offs;     /* token/tag offsets into arena */
    const char **ptrs;
    size_t ptrs_cap;
    bh_conllu_row *rows;
    size_t rows_cap;
    bh_squad_answer *answers;
    size_t answers_cap;
    bh_buf conv;                        /* converted tags */
    size_t *conv_offs;
    size_t conv_cap;
    /* CSV */
    int ncols, col_text, col_text2, col_label, col_id;
    /* SQuAD */
    void *json;                         /* json_t root */
    size_t art, par, qa;                /* position: data[art].paragraphs[par].qas[qa] */
    /* MediaWiki */
    void *wiki;
};

/* Records a problem "PATH:LINE: message" (line 0 = no line). In skip mode returns 0
 * (the caller drops the record and goes on); in stop mode sets the error detail,
 * marks the reader stopped and returns `code`, which the caller returns as it is. */
int bh__corpus_problem(bh_corpus *r, bh_status code, long line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* MediaWiki reader (wiki.c). */
bh_status bh__wiki_open(bh_corpus *r);
int bh__wiki_next(bh_corpus *r, bh_corpus_record *rec);
void bh__wiki_free(bh_corpus *r);

#endif

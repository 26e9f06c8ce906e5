/* bench/corpus_wikigen.c — writes a synthetic MediaWiki XML export of about N MB
 * to stdout (deterministic): main-namespace articles with templates, links,
 * references, tables, entities and Bangla/Hindi/English words, plus talk pages
 * and redirects, so the streaming reader and the wikitext cleaner are exercised.
 * usage: corpus_wikigen MEGABYTES > dump.xml */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static const char *const words[] = {"ঢাকা", "বাংলাদেশ", "নদী", "শহর", "ইতিহাস", "মানুষ", "ভাষা", "সরকার",
                                    "भारत", "दिल्ली", "नदी", "इतिहास", "भाषा", "लोग", "the", "city", "river",
                                    "history", "1971", "২০২৪", "&amp;", "&quot;x&quot;"};
#define NW (sizeof words / sizeof words[0])

static long long out;

static void w(const char *s)
{
    out += fputs(s, stdout) >= 0 ? (long long)__builtin_strlen(s) : 0;
}

static void sentence(void)
{
    int n = 5 + (int)rnd(15);
    for (int i = 0; i < n; i++) {
        if (i) w(" ");
        uint32_t k = rnd(20);
        if (k == 0) {
            w("[[");
            w(words[rnd(NW)]);
            w("|");
            w(words[rnd(NW)]);
            w("]]");
        } else if (k == 1) {
            w("'''");
            w(words[rnd(NW)]);
            w("'''");
        } else if (k == 2) {
            w("&lt;ref&gt;{{cite web|url=http://example.org/");
            w(words[rnd(NW)]);
            w("}}&lt;/ref&gt;");
        } else {
            w(words[rnd(NW)]);
        }
    }
    w(rnd(2) ? "। " : ". ");
}

int main(int argc, char **argv)
{
    long long target = (argc > 1 ? atoll(argv[1]) : 100) << 20;
    w("<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.10/\" version=\"0.10\" xml:lang=\"bn\">\n"
      "  <siteinfo><sitename>Synthetic</sitename></siteinfo>\n");
    long id = 1;
    char buf[256];
    while (out < target) {
        int kind = (int)rnd(10); /* 0: redirect, 1: talk page, else article */
        snprintf(buf, sizeof buf, "  <page>\n    <title>%s %ld</title>\n    <ns>%d</ns>\n    <id>%ld</id>\n",
                 words[rnd(NW)], id, kind == 1 ? 1 : 0, id);
        w(buf);
        if (kind == 0) w("    <redirect title=\"X\" />\n");
        snprintf(buf, sizeof buf, "    <revision>\n      <id>%ld</id>\n      <text xml:space=\"preserve\">", id + 1000000);
        w(buf);
        if (kind == 0) {
            w("#REDIRECT [[X]]");
        } else {
            w("{{Infobox|name=");
            w(words[rnd(NW)]);
            w("|nested={{flag|bn}}}}\n");
            int paras = 2 + (int)rnd(12);
            for (int p = 0; p < paras; p++) {
                if (rnd(4) == 0) {
                    w("\n== ");
                    w(words[rnd(NW)]);
                    w(" ==\n");
                }
                int s = 2 + (int)rnd(8);
                for (int k = 0; k < s; k++) sentence();
                w("\n\n");
                if (rnd(8) == 0) w("{| class=\"wikitable\"\n| a || b\n|-\n| c || d\n|}\n");
            }
            w("[[Category:");
            w(words[rnd(NW)]);
            w("]]");
        }
        w("</text>\n    </revision>\n  </page>\n");
        id++;
    }
    w("</mediawiki>\n");
    return 0;
}

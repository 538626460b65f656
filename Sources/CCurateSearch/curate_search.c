// Dot products for nearest-neighbour search, compiled for baseline x86-64, AVX2 and AVX-512 and chosen at run
// time. Optimised even in debug builds (Package.swift): tests search 100,000 vectors.
#include "curate_search.h"

#include <string.h>

#pragma clang fp contract(off)

#if defined(__x86_64__)
#define CS_X86 1
#define TARGET_AVX2 __attribute__((target("avx2")))
#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#else
#define CS_X86 0
#endif

#define LANES 16

static inline __attribute__((always_inline)) float dot_body(const float *restrict a, const float *restrict b, size_t d) {
    float acc[LANES] = {0};
    size_t k = 0;
    for (; k + LANES <= d; k += LANES) {
        for (int l = 0; l < LANES; l++) acc[l] += a[k + l] * b[k + l];
    }
    for (int l = 0; k + (size_t)l < d; l++) acc[l] += a[k + l] * b[k + l];
    for (int w = LANES / 2; w >= 1; w /= 2) {
        for (int l = 0; l < w; l++) acc[l] += acc[l + w];
    }
    return acc[0];
}

// Every row of a against every row of b.
static inline __attribute__((always_inline)) void dots_body(const float *restrict a, size_t na, const float *restrict b, size_t nb, size_t d,
                                                            float *restrict out) {
    for (size_t i = 0; i < na; i++) {
        const float *x = a + i * d;
        float *o = out + i * nb;
        for (size_t j = 0; j < nb; j++) o[j] = dot_body(x, b + j * d, d);
    }
}

static void dots_baseline(const float *a, size_t na, const float *b, size_t nb, size_t d, float *out) { dots_body(a, na, b, nb, d, out); }
#if CS_X86
TARGET_AVX2 static void dots_avx2(const float *a, size_t na, const float *b, size_t nb, size_t d, float *out) { dots_body(a, na, b, nb, d, out); }
TARGET_AVX512 static void dots_avx512(const float *a, size_t na, const float *b, size_t nb, size_t d, float *out) { dots_body(a, na, b, nb, d, out); }
#endif

static int path(void) {
#if CS_X86
    static int chosen = -1;
    if (chosen < 0) {
        __builtin_cpu_init();
        chosen = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") ? 2
                 : __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return chosen;
#else
    return 0;
#endif
}

static inline void offer(float *sims, int *ids, size_t k, float s, int id) {
    if (k == 0) return;
    size_t at = k - 1;
    if (!(s > sims[at] || (s == sims[at] && (ids[at] < 0 || id < ids[at])))) return;
    while (at > 0 && (s > sims[at - 1] || (s == sims[at - 1] && id < ids[at - 1]))) {
        sims[at] = sims[at - 1];
        ids[at] = ids[at - 1];
        at--;
    }
    sims[at] = s;
    ids[at] = id;
}

size_t cs_offer(const float *dots, size_t nq, size_t nm, const int *cand_ids, const int *query_ids, const int *query_rows, size_t k,
                float *best_sims, int *best_ids, float min_sim, int *pair_a, int *pair_b, float *pair_s, size_t pair_capacity) {
    size_t pairs = 0;
    for (size_t q = 0; q < nq; q++) {
        const float *row = dots + q * nm;
        float *sims = best_sims + (size_t)query_rows[q] * k;
        int *ids = best_ids + (size_t)query_rows[q] * k;
        const int self = query_ids[q];
        for (size_t m = 0; m < nm; m++) {
            const int id = cand_ids[m];
            if (id == self) continue;
            const float s = row[m];
            offer(sims, ids, k, s, id);
            if (s >= min_sim) {
                if (pairs < pair_capacity) {
                    pair_a[pairs] = self;
                    pair_b[pairs] = id;
                    pair_s[pairs] = s;
                }
                pairs++;
            }
        }
    }
    return pairs;
}

const char *cs_path(void) {
    switch (path()) {
    case 2: return "avx512";
    case 1: return "avx2";
    default: return "baseline";
    }
}

void cs_dots(const float *a, size_t na, const float *b, size_t nb, size_t d, float *out) {
    // Blocks of b that stay in cache while every row of a passes over them.
    const size_t block = d > 0 ? (size_t)(256 * 1024) / (d * sizeof(float)) + 1 : nb;
    for (size_t j0 = 0; j0 < nb; j0 += block) {
        size_t count = nb - j0 < block ? nb - j0 : block;
        for (size_t i = 0; i < na; i++) {
            // One row of a against the block, written into its place in out.
            float *o = out + i * nb + j0;
            switch (path()) {
#if CS_X86
            case 2: dots_avx512(a + i * d, 1, b + j0 * d, count, d, o); break;
            case 1: dots_avx2(a + i * d, 1, b + j0 * d, count, d, o); break;
#endif
            default: dots_baseline(a + i * d, 1, b + j0 * d, count, d, o); break;
            }
        }
    }
}

// Dot products for nearest-neighbour search, compiled for baseline x86-64, AVX2 and AVX-512 and chosen at run
// time. Optimised even in debug builds (Package.swift): tests search 100,000 vectors.
#include "curate_search.h"

#include <math.h>
#include <string.h>

#pragma clang fp contract(off)

#if defined(__x86_64__)
#define CS_X86 1
#define TARGET_AVX2 __attribute__((target("avx2")))
#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#else
#define CS_X86 0
#endif

// Vectors of 16 floats are only ever used inside always-inlined functions, so their calling convention is moot.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float f16v __attribute__((ext_vector_type(16)));
typedef float f8v __attribute__((ext_vector_type(8)));
typedef float f4v __attribute__((ext_vector_type(4)));
typedef float f2v __attribute__((ext_vector_type(2)));

static inline __attribute__((always_inline)) f16v load16(const float *p) {
    f16v v;
    memcpy(&v, p, sizeof v);
    return v;
}

// The 16 lanes folded in a fixed order: halves, then quarters, … (the same on every path).
static inline __attribute__((always_inline)) float fold(f16v v) {
    const f8v h = v.lo + v.hi;
    const f4v q = h.lo + h.hi;
    const f2v r = q.lo + q.hi;
    return r.x + r.y;
}

// Rows of a in pairs against rows of b in fours: eight sums kept in registers, each loaded vector used four or
// two times. Every sum is lane-wise (lane l adds the products at l, l + 16, …), multiplied and added separately.
static inline __attribute__((always_inline)) void dots_body(const float *restrict a, size_t na, const float *restrict b, size_t nb, size_t d,
                                                            float *restrict out, size_t stride) {
    size_t i = 0;
    for (; i + 2 <= na; i += 2) {
        const float *x0 = a + i * d, *x1 = x0 + d;
        size_t j = 0;
        for (; j + 4 <= nb; j += 4) {
            const float *y0 = b + j * d, *y1 = y0 + d, *y2 = y1 + d, *y3 = y2 + d;
            f16v s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
            for (size_t k = 0; k < d; k += 16) {
                const f16v p = load16(x0 + k), q = load16(x1 + k);
                f16v y = load16(y0 + k);
                s00 += p * y; s10 += q * y;
                y = load16(y1 + k);
                s01 += p * y; s11 += q * y;
                y = load16(y2 + k);
                s02 += p * y; s12 += q * y;
                y = load16(y3 + k);
                s03 += p * y; s13 += q * y;
            }
            float *o0 = out + i * stride + j, *o1 = o0 + stride;
            o0[0] = fold(s00); o0[1] = fold(s01); o0[2] = fold(s02); o0[3] = fold(s03);
            o1[0] = fold(s10); o1[1] = fold(s11); o1[2] = fold(s12); o1[3] = fold(s13);
        }
        for (; j < nb; j++) {
            const float *y0 = b + j * d;
            f16v s0 = 0, s1 = 0;
            for (size_t k = 0; k < d; k += 16) {
                const f16v y = load16(y0 + k);
                s0 += load16(x0 + k) * y;
                s1 += load16(x1 + k) * y;
            }
            out[i * stride + j] = fold(s0);
            out[(i + 1) * stride + j] = fold(s1);
        }
    }
    for (; i < na; i++) {
        const float *x0 = a + i * d;
        for (size_t j = 0; j < nb; j++) {
            const float *y0 = b + j * d;
            f16v s0 = 0;
            for (size_t k = 0; k < d; k += 16) s0 += load16(x0 + k) * load16(y0 + k);
            out[i * stride + j] = fold(s0);
        }
    }
}

#define DOTS_PARAMS (const float *a, size_t na, const float *b, size_t nb, size_t d, float *out, size_t stride)
static void dots_baseline DOTS_PARAMS { dots_body(a, na, b, nb, d, out, stride); }
#if CS_X86
TARGET_AVX2 static void dots_avx2 DOTS_PARAMS { dots_body(a, na, b, nb, d, out, stride); }
TARGET_AVX512 static void dots_avx512 DOTS_PARAMS { dots_body(a, na, b, nb, d, out, stride); }
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
        // The worst kept similarity: most candidates fall below it and cost one comparison.
        float worst = k > 0 ? sims[k - 1] : INFINITY;
        for (size_t m = 0; m < nm; m++) {
            const float s = row[m];
            if (s < worst && s < min_sim) continue;
            const int id = cand_ids[m];
            if (id == self) continue;
            if (k > 0) {
                offer(sims, ids, k, s, id);
                worst = sims[k - 1];
            }
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
    // Blocks of b that stay in cache while blocks of a pass over them.
    const size_t block = d > 0 ? (size_t)(128 * 1024) / (d * sizeof(float)) + 4 : nb;
    const size_t rows = 64;
    for (size_t j0 = 0; j0 < nb; j0 += block) {
        const size_t count = nb - j0 < block ? nb - j0 : block;
        for (size_t i0 = 0; i0 < na; i0 += rows) {
            const size_t n = na - i0 < rows ? na - i0 : rows;
            float *o = out + i0 * nb + j0;
            switch (path()) {
#if CS_X86
            case 2: dots_avx512(a + i0 * d, n, b + j0 * d, count, d, o, nb); break;
            case 1: dots_avx2(a + i0 * d, n, b + j0 * d, count, d, o, nb); break;
#endif
            default: dots_baseline(a + i0 * d, n, b + j0 * d, count, d, o, nb); break;
            }
        }
    }
}

#ifndef CURATE_SEARCH_H
#define CURATE_SEARCH_H

#include <stddef.h>

/// out[i * nb + j] = a_i · b_j for the rows of a (na × d) and b (nb × d), row-major float32; d must be a multiple
/// of 16 (pad rows with zeros, which add nothing). The sum runs in
/// 16 lanes (lane l adds the products at l, l + 16, …) folded in a fixed order, without fused multiply-adds, so
/// every instruction-set path (AVX-512, AVX2, SSE2) gives the same bits.
void cs_dots(const float *a, size_t na, const float *b, size_t nb, size_t d, float *out);

/// Offers candidates to bounded best lists. For each query q < nq, every candidate m < nm with
/// cand_ids[m] != query_ids[q] goes into q's list of the k most similar (best_sims/best_ids at row
/// query_rows[q] × k, most similar first, ties to the lower id; ids -1 where empty), its similarity being
/// dots[q × nm + m]. Pairs with similarity ≥ min_sim are written (query id, candidate id, similarity) while
/// pair_capacity allows. Returns the number of such pairs (more than pair_capacity: call again with room).
size_t cs_offer(const float *dots, size_t nq, size_t nm, const int *cand_ids, const int *query_ids, const int *query_rows, size_t k,
                float *best_sims, int *best_ids, float min_sim, int *pair_a, int *pair_b, float *pair_s, size_t pair_capacity);

/// The instruction-set path cs_dots uses: "avx512", "avx2" or "baseline".
const char *cs_path(void);

#endif

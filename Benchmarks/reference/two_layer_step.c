/* The hand-written reference for seed 004's training step: the same forward, loss, backward
 * and SGD update as TapeGrad's two-layer-net, written directly against OpenBLAS with every
 * buffer allocated before the loop. Prints `two-layer MICROSECONDS` (mean per iteration after
 * warm-up). Build: cc -O2 two_layer_step.c $(pkg-config --cflags --libs openblas) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N = 64, D_IN = 1000, H = 100, D_OUT = 10 };

static float x[N * D_IN], y[N * D_OUT], w1[D_IN * H], w2[H * D_OUT];
static float h[N * H], h_relu[N * H], y_pred[N * D_OUT], grad_y_pred[N * D_OUT];
static float grad_w2[H * D_OUT], grad_h[N * H], grad_w1[D_IN * H];

static float uniform(unsigned long long *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((*s >> 40) & 0xFFFFFF) / 16777216.0f - 0.5f;
}

static double step(void) {
    const float lr = 1e-6f;
    /* Forward: h = x w1, relu, y_pred = h_relu w2. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, D_IN, 1, x, D_IN, w1, H, 0, h, H);
    for (int i = 0; i < N * H; i++) h_relu[i] = h[i] > 0 ? h[i] : 0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D_OUT, H, 1, h_relu, H, w2, D_OUT, 0, y_pred, D_OUT);
    /* Loss = sum((y_pred - y)^2) and its gradient 2 (y_pred - y). */
    double loss = 0;
    for (int i = 0; i < N * D_OUT; i++) {
        float d = y_pred[i] - y[i];
        loss += d * d;
        grad_y_pred[i] = 2 * d;
    }
    /* Backward. */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, D_OUT, N, 1, h_relu, H, grad_y_pred, D_OUT, 0, grad_w2, D_OUT);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, H, D_OUT, 1, grad_y_pred, D_OUT, w2, D_OUT, 0, grad_h, H);
    for (int i = 0; i < N * H; i++) if (h[i] <= 0) grad_h[i] = 0;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D_IN, H, N, 1, x, D_IN, grad_h, H, 0, grad_w1, H);
    /* SGD update (gradients are overwritten next step: no zeroing pass needed). */
    cblas_saxpy(D_IN * H, -lr, grad_w1, 1, w1, 1);
    cblas_saxpy(H * D_OUT, -lr, grad_w2, 1, w2, 1);
    return loss;
}

int main(int argc, char **argv) {
    int iterations = argc > 1 ? atoi(argv[1]) : 200;
    unsigned long long s = 1;
    for (int i = 0; i < N * D_IN; i++) x[i] = uniform(&s);
    for (int i = 0; i < N * D_OUT; i++) y[i] = uniform(&s);
    for (int i = 0; i < D_IN * H; i++) w1[i] = uniform(&s);
    for (int i = 0; i < H * D_OUT; i++) w2[i] = uniform(&s);
    openblas_set_num_threads(1);
    volatile double sink = 0;
    for (int i = 0; i < 3; i++) sink += step();
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < iterations; i++) sink += step();
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) * 1e-9;
    printf("two-layer %.4f\n", seconds / iterations * 1e6);
    return 0;
}

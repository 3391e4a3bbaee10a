/* Run a model compiled by `graphc compile MODEL -o model.so --name model` on numbers in a text file.
 *
 *   ./run_model INPUT.txt
 *
 * INPUT.txt holds whitespace-separated numbers: GC_MODEL_IN0_SIZE of them per sample (per whole
 * input when the model's shapes are static). The program prints one line per sample: its
 * GC_MODEL_OUT0_SIZE outputs. Models with one float32 input and one float32 output.
 */
#include <stdio.h>
#include <stdlib.h>

#include "model.h"

#if GC_MODEL_NUM_INPUTS != 1 || GC_MODEL_NUM_OUTPUTS != 1
#error "this example runs models with one input and one output"
#endif

static float *read_numbers(const char *path, long *count) {
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return NULL;
    }
    long cap = 1024, n = 0;
    float *data = malloc(cap * sizeof *data);
    float v;
    while (data && fscanf(f, "%f", &v) == 1) {
        if (n == cap) {
            float *bigger = realloc(data, (cap *= 2) * sizeof *data);
            if (!bigger) free(data);
            data = bigger;
        }
        if (data) data[n++] = v;
    }
    if (data && !feof(f)) {
        fprintf(stderr, "%s: not a number after %ld values\n", path, n);
        free(data);
        data = NULL;
    }
    fclose(f);
    *count = n;
    return data;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUT.txt  (whitespace-separated numbers, %d per sample)\n", argv[0],
                GC_MODEL_IN0_SIZE);
        return 2;
    }
    long count;
    float *in = read_numbers(argv[1], &count);
    if (!in) return 1;
    if (count == 0 || count % GC_MODEL_IN0_SIZE != 0) {
        fprintf(stderr, "%s: %ld numbers is not a positive multiple of %d (one sample)\n", argv[1], count,
                GC_MODEL_IN0_SIZE);
        return 1;
    }
    long samples = count / GC_MODEL_IN0_SIZE;
    float *out = malloc((size_t)samples * GC_MODEL_OUT0_SIZE * sizeof *out);
    gc_model_ctx *ctx = gc_model_create();
    if (!out || !ctx) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
#ifdef GC_MODEL_MAX_BATCH /* the batch size is a run-time argument: one call for all samples */
    int rc = gc_model_run(ctx, samples, in, out);
#else /* static shapes: one call per input */
    int rc = GC_MODEL_OK;
    for (long s = 0; s < samples && rc == GC_MODEL_OK; s++)
        rc = gc_model_run(ctx, in + s * GC_MODEL_IN0_SIZE, out + s * GC_MODEL_OUT0_SIZE);
#endif
    if (rc != GC_MODEL_OK) {
        fprintf(stderr, "gc_model_run failed with code %d\n", rc);
        return 1;
    }
    for (long s = 0; s < samples; s++)
        for (int j = 0; j < GC_MODEL_OUT0_SIZE; j++)
            printf("%.9g%c", out[s * GC_MODEL_OUT0_SIZE + j], j + 1 == GC_MODEL_OUT0_SIZE ? '\n' : ' ');
    gc_model_destroy(ctx);
    free(out);
    free(in);
    return 0;
}

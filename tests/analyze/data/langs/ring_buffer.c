#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned char *data;
    size_t capacity;
    size_t head;
    size_t tail;
} ring_buffer;

typedef enum { RING_OK, RING_FULL } ring_status;

struct ring_stats {
    size_t reads;
    size_t writes;
};

static int grow(ring_buffer *rb, size_t min_capacity);

/**
 * Creates an empty ring buffer.
 */
ring_buffer *ring_create(size_t capacity)
{
    ring_buffer *rb = calloc(1, sizeof *rb);
    if (rb == NULL) {
        perror("ring_create: out of memory");
        return NULL;
    }
    rb->data = malloc(capacity);
    rb->capacity = capacity;
    return rb;
}

size_t ring_write(ring_buffer *rb, const void *src, size_t len)
{
    if (rb->tail + len > rb->capacity && grow(rb, rb->tail + len) != 0) {
        return 0;
    }
    memcpy(rb->data + rb->tail, src, len);
    rb->tail += len;
    return len;
}

static int grow(ring_buffer *rb, size_t min_capacity)
{
    unsigned char *data = realloc(rb->data, min_capacity * 2);
    if (data == NULL) {
        return -1;
    }
    rb->data = data;
    rb->capacity = min_capacity * 2;
    return 0;
}

void ring_log(const ring_buffer *rb, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
}

void ring_each(ring_buffer *rb, void (*visit)(unsigned char byte, void *ctx), void *ctx)
{
    for (size_t i = rb->head; i < rb->tail; i++) {
        visit(rb->data[i], ctx);
    }
}

void ring_free(ring_buffer *rb);

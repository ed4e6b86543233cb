#ifndef LEGACY_H
#define LEGACY_H

/* A C header that uses C++ keywords as names: it is read with the C grammar. */
struct node {
    int new;
    struct node *class;
};

int node_count(const struct node *list);

#endif

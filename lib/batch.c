/*
 * batch.c -- see batch.h.
 */
#include "batch.h"

void batch_push(batch_queue *q, batch_link *l)
{
    l->next = NULL;
    if (q->tail)
        q->tail->next = l;
    else
        q->head = l;
    q->tail = l;
    q->n++;
}

void batch_push_front_solo(batch_queue *q, batch_link *l)
{
    l->solo = 1;
    l->next = q->head;
    q->head = l;
    if (q->tail == NULL)
        q->tail = l;
    q->n++;
}

batch_link *batch_pop(batch_queue *q)
{
    batch_link *l = q->head;
    if (l == NULL)
        return NULL;
    q->head = l->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->n--;
    l->next = NULL;
    return l;
}

size_t batch_take(batch_queue *q, batch_link **out, size_t max, strmap *seen,
                  void (*key_of)(const batch_link *l, char *buf, size_t n))
{
    char key[320];
    size_t taken = 0;
    batch_link **link = &q->head, *prev = NULL;
    strmap_clear(seen);
    while (*link && taken < max) {
        batch_link *l = *link;
        if (l->solo && taken > 0)
            break;
        key_of(l, key, sizeof key);
        if (strmap_get(seen, key) != NULL) {
            prev = l;
            link = &l->next;
            continue;
        }
        strmap_put(seen, key, l); /* out of memory: the write goes, unchecked */
        *link = l->next;
        if (q->tail == l)
            q->tail = prev;
        q->n--;
        l->next = NULL;
        out[taken++] = l;
        if (l->solo) {
            l->solo = 0;
            break;
        }
    }
    return taken;
}

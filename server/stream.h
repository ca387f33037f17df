/*
 * stream.h -- GET /v1/stream: committed changes as Server-Sent Events.
 *
 * After every commit, before anyone is answered, ingest calls
 * stream_publish with the incident before and after the change. That makes
 * one `incident` event (the stored incident) and one `cube` event for every
 * cube cell (precinct x offense x priority x local hour) whose count moved;
 * a change that leaves the cell where it was makes none. Each event goes to
 * the streams of the incident's agency whose precincts include the event's
 * precinct (the token's scope, narrowed by ?precinct=); incidents without a
 * precinct only to streams that see every precinct.
 *
 * A stream opens with a `ready` event. Event ids are "<boot>-<seq>": boot
 * names this process, seq counts its events. The last stream_backlog
 * events are kept, so a client that reconnects with Last-Event-ID gets
 * `ready` with "resumed": true and then what it missed; when that is not
 * possible (another process, or too old) "resumed" is false and it must
 * read its state afresh.
 *
 * Memory is bounded: the backlog by its length, each stream by
 * stream_max_buffer bytes queued for its client (a stream waits while its
 * buffer is full; one the backlog overtakes is dropped, and the client
 * reconnects), the number of streams by max_streams, shared fairly between
 * agencies (when all are taken, an agency below its fair share takes the
 * newest stream of the agency holding most; otherwise 503). A comment line every
 * stream_heartbeat seconds keeps proxies from closing quiet streams and
 * finds clients that vanished.
 */
#ifndef COMPSTAT_STREAM_H
#define COMPSTAT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "http.h"
#include "store.h"

/* Set up with the daemon's settings (app.cfg). 0, or -1 out of memory. */
int stream_init(struct event_base *base);

/* A committed change: old is the incident before (NULL when new). */
void stream_publish(const stored *old, const stored *new_row);
/*
 * Send what was published to the streams now (one chunk per stream for a
 * whole commit batch). Call after a batch's stream_publish calls and
 * before its writes are answered; without it they go out when the loop
 * next turns.
 */
void stream_flush(void);

/*
 * Tokens changed (a revocation was notified, or the watch reconnected):
 * ask the database which of the open streams' tokens -- and, for a person's
 * stream, sessions (open, within their time, not idle) -- are still valid
 * and end the others' streams when it answers. Also runs every 60 s, for a
 * token revoked by hand in SQL and a session whose time ran out.
 */
void stream_check_tokens(void);

/*
 * The agency's areas changed (an area PUT committed): streams whose
 * precincts came from areas -- area=, or a token given areas -- end, and
 * resume (Last-Event-ID: nothing missed) with the precincts the areas hold
 * now.
 */
void stream_areas_changed(int agency_id);

/* SIGTERM: end every stream cleanly (clients reconnect elsewhere). */
void stream_drain(void);

/* Open streams, events published, streams dropped for reading too slowly. */
size_t stream_count(void);
uint64_t stream_events(void);
uint64_t stream_dropped(void);
/* Streams ended because their token was revoked / to give another agency its share. */
uint64_t stream_revoked(void);
uint64_t stream_evicted(void);
/* Bytes queued for stream clients now, and held by the backlog. */
size_t stream_buffered(void);
size_t stream_backlog_bytes(void);

void stream_free(void);

/* GET /v1/stream */
void h_stream(http_req *r);

#endif

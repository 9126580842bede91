/* The daemon's state, shared by score/serve*.c. Not installed. */
#ifndef PM_SCORE_SERVE_INTERNAL_H
#define PM_SCORE_SERVE_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "penmark/serve.h"
#include "score/serve/serve_guard.h"
#include "score/serve/serve_log.h"
#include "score/serve/serve_metrics.h"
#include "score/serve/serve_tenants.h"

struct pm_serve {
  pm_serve_opts opts; /* copied; the strings below are its own copies */
  char *socket_path;
  char *store_dir;
  char *config_path; /* NULL: each store's own configuration */
  unsigned threads;  /* workers actually started */
  pm__log log;
  pm__metrics metrics;
  pm__tenants *tenants;
  pm__guard *guard;         /* slow and idle clients */
  pthread_key_t worker_key; /* this worker's scorers */
  bool key_made;
  struct MHD_Daemon *mhd;
  int listen_fd;       /* ours until MHD runs; then MHD's until quiesce */
  struct stat sock_id; /* the socket file we made */
  bool sock_made;
  atomic_bool stopping; /* new requests get 503 */
  bool stopped;
  int64_t start_ms; /* monotonic */
};

/* libmicrohttpd callbacks (serve_http.c); cls is the pm_serve. */
enum MHD_Result pm__serve_on_request(void *cls, struct MHD_Connection *conn,
                                     const char *url, const char *method,
                                     const char *version,
                                     const char *upload_data,
                                     size_t *upload_data_size, void **con_cls);
void pm__serve_on_completed(void *cls, struct MHD_Connection *conn,
                            void **con_cls,
                            enum MHD_RequestTerminationCode toe);
void pm__serve_on_connection(void *cls, struct MHD_Connection *conn,
                             void **socket_context,
                             enum MHD_ConnectionNotificationCode toe);

int64_t pm__mono_us(void);

#endif

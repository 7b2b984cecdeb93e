// zran-style restart points for gzip layers (after zlib's examples/zran.c), as a Node-API addon.
//
// Node's zlib exposes neither deflate block boundaries (Z_BLOCK / data_type) nor inflatePrime, so
// the index pass inflates here instead: on a libuv pool thread, like Node's zlib, stopping at block
// boundaries and recording every `span` output bytes a restart point (output offset, input offset,
// unused bits, the 32 KiB window, stored deflated with its crc32). The same handle type resumes a
// raw inflate at such a point (inflatePrime + inflateSetDictionary) for random reads.
// Multi-member gzip (eStargz) is followed member after member; zero padding after a member is skipped.

#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define WIN 32768
#define MAX_POINTS_PER_JOB 4096

typedef struct {
  double out, in;
  int bits;
  uint32_t crc, wlen;
  uint8_t *wz;
  uint32_t wzlen;
} point_t;

enum { INFLATING, MEMBER_END, TRAILER };

typedef struct {
  z_stream strm;
  z_stream def;
  int def_ready;
  int record;
  int state;
  int trailer_left;
  int raw;
  double member_span;
  int level;
  double in_total, out_total, span, last_out;
  uint8_t win[WIN];
  // the job in flight
  napi_async_work work;
  napi_ref cb, in_ref, out_ref;
  uint8_t *in;
  size_t in_len;
  uint8_t *out;
  size_t out_len;
  size_t consumed, produced;
  int err;
  char msg[160];
  point_t pts[MAX_POINTS_PER_JOB];
  int npts;
  int busy, closed;
} zr_t;

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "zran: Node-API call failed");      \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static void add_point(zr_t *z) {
  point_t *p = &z->pts[z->npts];
  uInt len = 0;
  if (inflateGetDictionary(&z->strm, z->win, &len) != Z_OK) return;
  if (!z->def_ready) {
    if (deflateInit2(&z->def, z->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return;
    z->def_ready = 1;
  } else deflateReset(&z->def);
  uLong bound = deflateBound(&z->def, len);
  p->wz = malloc(bound);
  if (!p->wz) return;
  z->def.next_in = z->win;
  z->def.avail_in = len;
  z->def.next_out = p->wz;
  z->def.avail_out = (uInt)bound;
  if (deflate(&z->def, Z_FINISH) != Z_STREAM_END) {
    free(p->wz);
    return;
  }
  p->wzlen = (uint32_t)(bound - z->def.avail_out);
  p->wlen = len;
  p->crc = (uint32_t)crc32(0L, z->win, len);
  p->out = z->out_total;
  p->in = z->in_total;
  p->bits = z->strm.data_type & 7;
  z->last_out = z->out_total;
  z->npts++;
}

static void execute(napi_env env, void *data) {
  (void)env;
  zr_t *z = data;
  z_stream *s = &z->strm;
  s->next_in = z->in;
  s->avail_in = (uInt)z->in_len;
  s->next_out = z->out;
  s->avail_out = (uInt)z->out_len;
  z->err = Z_OK;
  z->msg[0] = 0;
  z->npts = 0;
  for (;;) {
    if (z->state == TRAILER) {
      uInt n = s->avail_in < (uInt)z->trailer_left ? s->avail_in : (uInt)z->trailer_left;
      s->next_in += n;
      s->avail_in -= n;
      z->in_total += n;
      z->trailer_left -= n;
      if (z->trailer_left) break;
      z->state = MEMBER_END;
    }
    if (z->state == MEMBER_END) {
      while (s->avail_in && *s->next_in == 0) {
        s->next_in++;
        s->avail_in--;
        z->in_total++;
      }
      if (!s->avail_in) break;
      if (inflateReset2(s, 31) != Z_OK) {
        z->err = Z_STREAM_ERROR;
        break;
      }
      z->state = INFLATING;
      // a member start is a free restart point: no window, no bits
      if (z->record && z->out_total - z->last_out >= z->member_span && z->npts < MAX_POINTS_PER_JOB) {
        point_t *p = &z->pts[z->npts++];
        memset(p, 0, sizeof *p);
        p->bits = -1;
        p->out = z->out_total;
        p->in = z->in_total;
        z->last_out = z->out_total;
      }
    }
    if (!s->avail_in || !s->avail_out) break;
    // Between points inflate runs freely (Z_NO_FLUSH, output capped where the next point falls due);
    // only then does it stop at each block boundary (Z_BLOCK) until one comes: the bulk of the work
    // is plain inflate, as in Node's zlib.
    int due = z->record && z->out_total - z->last_out >= z->span;
    uInt held = 0;
    if (z->record && !due) {
      double left = z->span - (z->out_total - z->last_out);
      if (left < s->avail_out) {
        held = s->avail_out - (uInt)left;
        s->avail_out = (uInt)left;
      }
    }
    uInt bi = s->avail_in, bo = s->avail_out;
    int ret = inflate(s, due ? Z_BLOCK : Z_NO_FLUSH);
    z->in_total += bi - s->avail_in;
    z->out_total += bo - s->avail_out;
    s->avail_out += held;
    if (ret == Z_STREAM_END) {
      // gzip mode read the member's trailer itself; a raw resume skips it (crc32 + size, 8 bytes)
      if (z->raw) {
        z->raw = 0;
        z->trailer_left = 8;
        z->state = TRAILER;
      } else z->state = MEMBER_END;
      continue;
    }
    if (ret == Z_BUF_ERROR) break;
    if (ret != Z_OK) {
      z->err = ret == Z_NEED_DICT ? Z_DATA_ERROR : ret;
      snprintf(z->msg, sizeof z->msg, "%s", s->msg ? s->msg : "invalid deflate data");
      break;
    }
    if (due && (s->data_type & 128) && !(s->data_type & 64) && z->npts < MAX_POINTS_PER_JOB) add_point(z);
  }
  z->consumed = z->in_len - s->avail_in;
  z->produced = z->out_len - s->avail_out;
}

static void release(zr_t *z) {
  if (z->closed) return;
  z->closed = 1;
  inflateEnd(&z->strm);
  if (z->def_ready) deflateEnd(&z->def);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  zr_t *z = data;
  release(z);
  free(z);
}

static napi_value complete_args(napi_env env, zr_t *z, napi_value *argv) {
  if (z->err != Z_OK) {
    napi_value m, code;
    napi_create_string_utf8(env, z->msg[0] ? z->msg : "invalid deflate data", NAPI_AUTO_LENGTH, &m);
    napi_create_string_utf8(env, "Z_DATA_ERROR", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, m, &argv[0]);
  } else napi_get_null(env, &argv[0]);
  napi_create_double(env, (double)z->consumed, &argv[1]);
  napi_create_double(env, (double)z->produced, &argv[2]);
  napi_create_array_with_length(env, z->npts, &argv[3]);
  for (int i = 0; i < z->npts; i++) {
    point_t *p = &z->pts[i];
    napi_value o, v;
    napi_create_object(env, &o);
    napi_create_double(env, p->out, &v);
    napi_set_named_property(env, o, "out", v);
    napi_create_double(env, p->in, &v);
    napi_set_named_property(env, o, "in", v);
    napi_create_int32(env, p->bits, &v);
    napi_set_named_property(env, o, "bits", v);
    napi_create_uint32(env, p->crc, &v);
    napi_set_named_property(env, o, "crc", v);
    napi_create_uint32(env, p->wlen, &v);
    napi_set_named_property(env, o, "windowSize", v);
    if (p->wz) {
      void *copy;
      napi_create_buffer_copy(env, p->wzlen, p->wz, &copy, &v);
      free(p->wz);
      p->wz = NULL;
    } else napi_get_null(env, &v);
    napi_set_named_property(env, o, "window", v);
    napi_set_element(env, argv[3], i, o);
  }
  return NULL;
}

static void complete(napi_env env, napi_status status, void *data) {
  zr_t *z = data;
  napi_value cb, global, argv[4];
  (void)status;
  z->busy = 0;
  napi_get_reference_value(env, z->cb, &cb);
  napi_delete_reference(env, z->cb);
  napi_delete_reference(env, z->in_ref);
  napi_delete_reference(env, z->out_ref);
  napi_delete_async_work(env, z->work);
  complete_args(env, z, argv);
  napi_get_global(env, &global);
  napi_call_function(env, global, cb, 4, argv, NULL);
}

static double num_prop(napi_env env, napi_value o, const char *name, double dflt) {
  napi_value v;
  bool has = false;
  double d = dflt;
  if (napi_has_named_property(env, o, name, &has) != napi_ok || !has) return dflt;
  napi_get_named_property(env, o, name, &v);
  // booleans and numbers alike (true -> 1)
  if (napi_coerce_to_number(env, v, &v) != napi_ok || napi_get_value_double(env, v, &d) != napi_ok) return dflt;
  return d;
}

// open({ record, span, memberSpan, level, raw, bits, byte, window, inOffset, outOffset }) -> handle
static napi_value zr_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], handle;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  zr_t *z = calloc(1, sizeof *z);
  if (!z) {
    napi_throw_error(env, NULL, "zran: out of memory");
    return NULL;
  }
  z->record = num_prop(env, argv[0], "record", 0) != 0;
  z->span = num_prop(env, argv[0], "span", 1 << 21);
  z->member_span = num_prop(env, argv[0], "memberSpan", 1 << 16);
  z->level = (int)num_prop(env, argv[0], "level", 6);
  z->raw = num_prop(env, argv[0], "raw", 0) != 0;
  z->in_total = num_prop(env, argv[0], "inOffset", 0);
  z->out_total = num_prop(env, argv[0], "outOffset", 0);
  z->last_out = z->out_total;
  z->state = INFLATING;
  int ret = inflateInit2(&z->strm, z->raw ? -15 : 31);
  if (ret == Z_OK && z->raw) {
    int bits = (int)num_prop(env, argv[0], "bits", 0);
    int byte = (int)num_prop(env, argv[0], "byte", 0);
    if (bits) ret = inflatePrime(&z->strm, bits, byte >> (8 - bits));
    napi_value w;
    bool has = false;
    napi_has_named_property(env, argv[0], "window", &has);
    if (ret == Z_OK && has) {
      void *wd;
      size_t wl;
      napi_get_named_property(env, argv[0], "window", &w);
      if (napi_get_buffer_info(env, w, &wd, &wl) == napi_ok && wl) ret = inflateSetDictionary(&z->strm, wd, (uInt)wl);
    }
  }
  if (ret != Z_OK) {
    inflateEnd(&z->strm);
    free(z);
    napi_throw_error(env, "Z_DATA_ERROR", "zran: cannot start the inflater at this restart point");
    return NULL;
  }
  CHECK(napi_create_external(env, z, finalize, NULL, &handle));
  return handle;
}

// write(handle, input, output, cb(err, consumed, produced, points)): inflates on the thread pool
static napi_value zr_write(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], name;
  zr_t *z;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], (void **)&z));
  if (z->busy || z->closed) {
    napi_throw_error(env, NULL, "zran: the inflater is busy or closed");
    return NULL;
  }
  CHECK(napi_get_buffer_info(env, argv[1], (void **)&z->in, &z->in_len));
  CHECK(napi_get_buffer_info(env, argv[2], (void **)&z->out, &z->out_len));
  CHECK(napi_create_reference(env, argv[1], 1, &z->in_ref));
  CHECK(napi_create_reference(env, argv[2], 1, &z->out_ref));
  CHECK(napi_create_reference(env, argv[3], 1, &z->cb));
  CHECK(napi_create_string_utf8(env, "zran", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, execute, complete, z, &z->work));
  z->busy = 1;
  CHECK(napi_queue_async_work(env, z->work));
  return NULL;
}

// writeSync(handle, input, output) -> [err, consumed, produced, points]: for short reads
static napi_value zr_write_sync(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], res, a[4];
  zr_t *z;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], (void **)&z));
  if (z->busy || z->closed) {
    napi_throw_error(env, NULL, "zran: the inflater is busy or closed");
    return NULL;
  }
  CHECK(napi_get_buffer_info(env, argv[1], (void **)&z->in, &z->in_len));
  CHECK(napi_get_buffer_info(env, argv[2], (void **)&z->out, &z->out_len));
  execute(env, z);
  complete_args(env, z, a);
  CHECK(napi_create_array_with_length(env, 4, &res));
  for (int i = 0; i < 4; i++) napi_set_element(env, res, i, a[i]);
  return res;
}

// state(handle) -> 0 inflating, 1 between members (a clean end), 2 in a member trailer
static napi_value zr_state(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], v;
  zr_t *z;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], (void **)&z));
  napi_create_int32(env, z->state, &v);
  return v;
}

static napi_value zr_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  zr_t *z;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], (void **)&z));
  if (!z->busy) release(z);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, zr_open, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, zr_write, NULL, NULL, NULL, napi_default, NULL},
      {"writeSync", NULL, zr_write_sync, NULL, NULL, NULL, napi_default, NULL},
      {"state", NULL, zr_state, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, zr_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

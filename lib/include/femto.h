/*
 * femto.h: the container side of femto-containers for Node-RED.
 *
 * One header for container authors, compiled with
 *
 *     clang -target bpf -O2 -nostdinc -I<package>/lib/include -c container.c
 *
 * (`femto build` and lib/compiler.ts do exactly that). A container has no libc: this header gives
 * the fixed-width integer types, RIOT's `phydat_t`, SAUL class and phydat unit constants, every
 * helper under RIOT's container-side name and number (RIOT's `sys/include/bpf/shared.h` and
 * `bpfapi/helpers.h`), and the context struct of every hook of the emulated board.
 *
 * Compatibility with RIOT sources: a container written for RIOT's femto-container runtime
 * (`#include "bpf/bpfapi/helpers.h"`, `<stdint.h>`) compiles unchanged, because lib/include also
 * holds small `bpf/bpfapi/helpers.h`, `bpf/shared.h`, `stdint.h`, `stddef.h` and `stdbool.h`
 * that only include this file. Choices made so that RIOT sources keep compiling:
 *   - Names that RIOT's own example containers define locally (`pid_ctx_t`, `bpf_coap_pkt_t`,
 *     `coap_hdr_t`) are NOT defined here; our equivalents carry a `femto_` prefix.
 *   - CoAP macros the examples repeat (`COAP_OPT_FINISH_PAYLOAD`, `COAP_CODE_CONTENT`) are
 *     defined with RIOT's exact spelling, so a repeated identical definition is not an error.
 *   - `ssize_t` is a 32-bit `int`, as in RIOT's bpfapi/helpers.h: helper results are 32-bit values
 *     zero-extended into r0, so a 32-bit signed type is what reads a negative result correctly.
 *
 * Helpers are declared RIOT's way: a static function pointer initialised with the helper number;
 * clang turns a call through it into the eBPF `call <id>` instruction. Pointers passed to helpers
 * are checked by the board against the container's memory regions; a bad one faults the run (−2).
 *
 * Hook contexts (r1, the first argument of the container's entry function) are little-endian;
 * pointers inside contexts are 64-bit fields. Their layouts are fixed by docs/ARCHITECTURE.md
 * § Hooks and contexts and checked by the _Static_asserts at the end of this file.
 */
#ifndef FEMTO_H
#define FEMTO_H

#if !defined(__bpf__) && !defined(FEMTO_H_ANY_TARGET)
#error "femto.h is for eBPF containers: compile with clang -target bpf (define FEMTO_H_ANY_TARGET to override)"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Fixed-width integers and friends (no libc in a container)                                  */
/* ------------------------------------------------------------------------------------------ */

#ifndef FEMTO_NO_STDINT
typedef signed char        int8_t;
typedef unsigned char      uint8_t;
typedef short              int16_t;
typedef unsigned short     uint16_t;
typedef int                int32_t;
typedef unsigned int       uint32_t;
typedef long long          int64_t;
typedef unsigned long long uint64_t;
typedef long               intptr_t;
typedef unsigned long      uintptr_t;
typedef long               intmax_t;
typedef unsigned long      uintmax_t;
typedef long               ptrdiff_t;
typedef unsigned long      size_t;
/* RIOT's bpfapi/helpers.h: `typedef signed ssize_t;` (32 bits, see the header comment). */
typedef int                ssize_t;

#define INT8_MIN    (-128)
#define INT8_MAX    (127)
#define UINT8_MAX   (255)
#define INT16_MIN   (-32767 - 1)
#define INT16_MAX   (32767)
#define UINT16_MAX  (65535)
#define INT32_MIN   (-2147483647 - 1)
#define INT32_MAX   (2147483647)
#define UINT32_MAX  (4294967295U)
#define INT64_MIN   (-9223372036854775807LL - 1)
#define INT64_MAX   (9223372036854775807LL)
#define UINT64_MAX  (18446744073709551615ULL)
#define SIZE_MAX    (18446744073709551615UL)

#define INT8_C(v)   (v)
#define UINT8_C(v)  (v)
#define INT16_C(v)  (v)
#define UINT16_C(v) (v)
#define INT32_C(v)  (v)
#define UINT32_C(v) (v##U)
#define INT64_C(v)  (v##LL)
#define UINT64_C(v) (v##ULL)
#endif /* FEMTO_NO_STDINT */

#ifndef __cplusplus
#ifndef bool
#define bool  _Bool
#define true  1
#define false 0
#endif
#endif

#ifndef NULL
#define NULL ((void *)0)
#endif

/*
 * A pointer field of a struct shared between the host and the container: RIOT's
 * `__bpf_shared_ptr(type, name)` (bpf/shared.h). The pointer sits in a union with an unnamed
 * 64-bit member and the union is 8-byte aligned, so the field takes 8 bytes and the struct has
 * one layout on a 32-bit board and in the 64-bit VM. (On the eBPF target a pointer is 8 bytes
 * already; the union is what makes the host's copy of the struct agree.) `__extension__` keeps
 * the anonymous union quiet under -std=c99 -pedantic.
 */
#ifndef __bpf_shared_ptr
#define __bpf_shared_ptr(type, name) \
    __extension__ union {            \
        type name;                   \
        uint64_t :64;                \
    } __attribute__((aligned(8)))
#endif
#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif

/* ------------------------------------------------------------------------------------------ */
/* Helper numbers (RIOT sys/include/bpf/shared.h; ARCHITECTURE.md § Helpers)                  */
/* ------------------------------------------------------------------------------------------ */

enum {
    /* Aux helper functions (stdlib) */
    BPF_FUNC_BPF_PRINTF = 0x01,
    BPF_FUNC_BPF_MEMCPY = 0x02,

    /* Key/value store functions */
    BPF_FUNC_BPF_STORE_LOCAL = 0x10,
    BPF_FUNC_BPF_STORE_GLOBAL = 0x11,
    BPF_FUNC_BPF_FETCH_LOCAL = 0x12,
    BPF_FUNC_BPF_FETCH_GLOBAL = 0x13,

    /* Time(r) functions */
    BPF_FUNC_BPF_NOW_MS = 0x20,

    /* SAUL functions */
    BPF_FUNC_BPF_SAUL_REG_FIND_NTH = 0x30,
    BPF_FUNC_BPF_SAUL_REG_FIND_TYPE = 0x31,
    BPF_FUNC_BPF_SAUL_REG_READ = 0x32,
    BPF_FUNC_BPF_SAUL_REG_WRITE = 0x33,

    /* (g)coap functions */
    BPF_FUNC_BPF_GCOAP_RESP_INIT = 0x40,
    BPF_FUNC_BPF_COAP_OPT_FINISH = 0x41,
    BPF_FUNC_BPF_COAP_ADD_FORMAT = 0x42,
    BPF_FUNC_BPF_COAP_GET_PDU = 0x43,

    /* fmt functions */
    BPF_FUNC_BPF_FMT_S16_DFP = 0x50,
    BPF_FUNC_BPF_FMT_U32_DEC = 0x51,

    /* ztimer functions */
    BPF_FUNC_BPF_ZTIMER_NOW = 0x60,
    BPF_FUNC_BPF_ZTIMER_PERIODIC_WAKEUP = 0x61,
};

/* ------------------------------------------------------------------------------------------ */
/* phydat (RIOT sys/include/phydat.h)                                                         */
/* ------------------------------------------------------------------------------------------ */

#define PHYDAT_DIM  (3U)
#define PHYDAT_MIN  (INT16_MIN)
#define PHYDAT_MAX  (INT16_MAX)

/** Physical data: up to 3 values of one unit, each value × 10^scale. 8 bytes. */
typedef struct {
    int16_t val[PHYDAT_DIM];    /**< the 3 generic dimensions of data */
    uint8_t unit;               /**< the (physical) unit of the data: UNIT_* */
    int8_t scale;               /**< the scale factor, 10^scale */
} phydat_t;

/** Units (RIOT's phydat.h order; the numbers are what travels in phydat_t.unit). */
enum {
    UNIT_UNDEF,     /**< unit undefined */
    UNIT_NONE,      /**< data has no physical unit */
    UNIT_TEMP_C,    /**< degree Celsius */
    UNIT_TEMP_F,    /**< degree Fahrenheit */
    UNIT_TEMP_K,    /**< Kelvin */
    UNIT_LUX,       /**< Lux (lx) */
    UNIT_M,         /**< meters */
    UNIT_M2,        /**< square meters */
    UNIT_M3,        /**< cubic meters */
    UNIT_G_FORCE,   /**< gravitational force equivalent */
    UNIT_G = UNIT_G_FORCE, /**< older name of UNIT_G_FORCE */
    UNIT_DPS,       /**< degree per second */
    UNIT_GRAM,      /**< grams */
    UNIT_GR = UNIT_GRAM,   /**< older name of UNIT_GRAM */
    UNIT_A,         /**< Ampere */
    UNIT_V,         /**< Volts */
    UNIT_W,         /**< Watt */
    UNIT_GAUSS,     /**< gauss */
    UNIT_GS = UNIT_GAUSS,  /**< older name of UNIT_GAUSS */
    UNIT_T,         /**< Tesla */
    UNIT_DBM,       /**< decibel-milliwatts */
    UNIT_COULOMB,   /**< coulomb */
    UNIT_F,         /**< Farad */
    UNIT_OHM,       /**< Ohm */
    UNIT_PH,        /**< pH */
    UNIT_BAR,       /**< bar */
    UNIT_PA,        /**< Pascal */
    UNIT_CD,        /**< Candela */
    UNIT_BOOL,      /**< boolean value [0|1] */
    UNIT_CTS,       /**< counts */
    UNIT_PERCENT,   /**< out of 100 */
    UNIT_PERMILL,   /**< out of 1000 */
    UNIT_PPM,       /**< part per million */
    UNIT_PPB,       /**< part per billion */
    UNIT_TIME,      /**< the three dimensions contain sec, min, and hours */
    UNIT_DATE,      /**< the 3 dimensions contain days, months and years */
    UNIT_GPM3,      /**< grams per cubic meter */
    UNIT_CPM3,      /**< count per cubic meter */
};

/* ------------------------------------------------------------------------------------------ */
/* SAUL device classes (RIOT drivers/include/saul.h)                                          */
/* ------------------------------------------------------------------------------------------ */

enum {
    SAUL_CAT_UNDEF = 0x00,      /**< device class undefined */
    SAUL_CAT_ACT   = 0x40,      /**< actuator */
    SAUL_CAT_SENSE = 0x80,      /**< sensor */
};

enum {
    SAUL_CLASS_UNDEF        = 0x00,
    SAUL_ACT_ANY            = 0x40,   /**< any actuator - wildcard */
    SAUL_ACT_LED_RGB        = 0x41,   /**< actuator: RGB LED */
    SAUL_ACT_SERVO          = 0x42,   /**< actuator: servo motor */
    SAUL_ACT_MOTOR          = 0x43,   /**< actuator: motor */
    SAUL_ACT_SWITCH         = 0x44,   /**< actuator: simple on/off switch (LEDs are switches) */
    SAUL_ACT_DIMMER         = 0x45,   /**< actuator: dimmable switch */
    SAUL_SENSE_ANY          = 0x80,   /**< any sensor - wildcard */
    SAUL_SENSE_BTN          = 0x81,   /**< sensor: simple button */
    SAUL_SENSE_TEMP         = 0x82,   /**< sensor: temperature */
    SAUL_SENSE_HUM          = 0x83,   /**< sensor: humidity */
    SAUL_SENSE_LIGHT        = 0x84,   /**< sensor: light */
    SAUL_SENSE_ACCEL        = 0x85,   /**< sensor: accelerometer */
    SAUL_SENSE_MAG          = 0x86,   /**< sensor: magnetometer */
    SAUL_SENSE_GYRO         = 0x87,   /**< sensor: gyroscope */
    SAUL_SENSE_COLOR        = 0x88,   /**< sensor: (light) color */
    SAUL_SENSE_PRESS        = 0x89,   /**< sensor: pressure */
    SAUL_SENSE_ANALOG       = 0x8a,   /**< sensor: raw analog value */
    SAUL_SENSE_UV           = 0x8b,   /**< sensor: UV index */
    SAUL_SENSE_OBJTEMP      = 0x8c,   /**< sensor: object temperature */
    SAUL_SENSE_COUNT        = 0x8d,   /**< sensor: pulse counter */
    SAUL_SENSE_DISTANCE     = 0x8e,   /**< sensor: distance */
    SAUL_SENSE_CO2          = 0x8f,   /**< sensor: CO2 gas */
    SAUL_SENSE_TVOC         = 0x90,   /**< sensor: TVOC gas */
    SAUL_SENSE_GAS          = 0x91,   /**< sensor: gas, common */
    SAUL_SENSE_OCCUP        = 0x92,   /**< sensor: occupancy */
    SAUL_SENSE_PROXIMITY    = 0x93,   /**< sensor: proximity */
    SAUL_SENSE_RSSI         = 0x94,   /**< sensor: RSSI */
    SAUL_SENSE_CHARGE       = 0x95,   /**< sensor: coulomb counter */
    SAUL_SENSE_CURRENT      = 0x96,   /**< sensor: ammeter */
    SAUL_SENSE_PM           = 0x97,   /**< sensor: particulate matter */
    SAUL_SENSE_CAPACITANCE  = 0x98,   /**< sensor: capacitance */
    SAUL_SENSE_VOLTAGE      = 0x99,   /**< sensor: voltage */
    SAUL_SENSE_PH           = 0x9a,   /**< sensor: pH */
    SAUL_SENSE_POWER        = 0x9b,   /**< sensor: power */
    SAUL_SENSE_SIZE         = 0x9c,   /**< sensor: size */
    SAUL_CLASS_ANY          = 0xff,   /**< any device - wildcard */
};

enum {
    SAUL_CAT_MASK = 0xc0,   /**< bits of the category */
    SAUL_ID_MASK  = 0x3f,   /**< bits of the class within its category */
};

/** Opaque SAUL device handle (non-zero when found). */
typedef void bpf_saul_reg_t;

/* ------------------------------------------------------------------------------------------ */
/* CoAP (RIOT net/coap.h, net/nanocoap.h)                                                     */
/* ------------------------------------------------------------------------------------------ */

/** coap_opt_finish flag: a payload follows (writes the 0xFF marker). */
#define COAP_OPT_FINISH_NONE     (0x0000)
#define COAP_OPT_FINISH_PAYLOAD  (0x0001)

/** Response codes: class << 5 | detail. */
#define COAP_CLASS_SUCCESS          (2)
#define COAP_CLASS_CLIENT_FAILURE   (4)
#define COAP_CLASS_SERVER_FAILURE   (5)
#define COAP_CODE_CREATED           ((2 << 5) | 1)
#define COAP_CODE_DELETED           ((2 << 5) | 2)
#define COAP_CODE_VALID             ((2 << 5) | 3)
#define COAP_CODE_CHANGED           ((2 << 5) | 4)
#define COAP_CODE_CONTENT           ((2 << 5) | 5)
#define COAP_CODE_204               ((2 << 5) | 4)
#define COAP_CODE_205               ((2 << 5) | 5)
#define COAP_CODE_BAD_REQUEST       ((4 << 5) | 0)
#define COAP_CODE_UNAUTHORIZED      ((4 << 5) | 1)
#define COAP_CODE_BAD_OPTION        ((4 << 5) | 2)
#define COAP_CODE_FORBIDDEN         ((4 << 5) | 3)
#define COAP_CODE_PATH_NOT_FOUND    ((4 << 5) | 4)
#define COAP_CODE_404               ((4 << 5) | 4)
#define COAP_CODE_METHOD_NOT_ALLOWED ((4 << 5) | 5)
#define COAP_CODE_INTERNAL_SERVER_ERROR ((5 << 5) | 0)
#define COAP_CODE_NOT_IMPLEMENTED   ((5 << 5) | 1)
#define COAP_CODE_SERVICE_UNAVAILABLE ((5 << 5) | 3)

/** Content formats (RFC 7252 §12.3, RIOT's COAP_FORMAT_*). */
#define COAP_FORMAT_TEXT            (0)
#define COAP_FORMAT_LINK            (40)
#define COAP_FORMAT_OCTET           (42)
#define COAP_FORMAT_JSON            (50)
#define COAP_FORMAT_CBOR            (60)
#define COAP_FORMAT_SENML_JSON      (110)
#define COAP_FORMAT_SENML_CBOR      (112)

/* ------------------------------------------------------------------------------------------ */
/* Hook contexts (ARCHITECTURE.md § Hooks and contexts): what r1 points at                    */
/* ------------------------------------------------------------------------------------------ */

/**
 * Sensor sample hook: one SAUL reading. 16 bytes, read-only.
 * `device` is the SAUL registry index (what bpf_saul_reg_find_nth takes).
 */
typedef struct {
    uint32_t device;        /**< SAUL device index */
    uint8_t type;           /**< SAUL class (SAUL_SENSE_*) */
    uint8_t pad[3];
    phydat_t sample;        /**< the reading */
} femto_sensor_ctx_t;

/** Button hook: same layout; type SAUL_SENSE_BTN, sample.val[0] = 1 pressed / 0 released. */
typedef femto_sensor_ctx_t femto_button_ctx_t;

/** Timer hook: 16 bytes, read-only. */
typedef struct {
    uint64_t now_us;        /**< board clock at this tick, µs */
    uint32_t period_ms;     /**< timer period */
    uint32_t tick;          /**< tick number, 1 for the first */
} femto_timer_ctx_t;

/**
 * CoAP request hook: RIOT's context (bpf/shared.h), 24 bytes. `pkt` points at the request
 * packet (femto_coap_pkt_t), `buf` at the PDU buffer the response is written into, `buf_len` is
 * its size. The container's result is the response length (bpf_coap_opt_finish's result plus the
 * payload bytes written), or a negative number for "no response".
 */
typedef struct {
    __bpf_shared_ptr(void *, pkt);      /**< opaque pointer to the packet (coap_pkt_t) */
    __bpf_shared_ptr(uint8_t *, buf);   /**< PDU buffer */
    size_t buf_len;                     /**< PDU buffer length */
} bpf_coap_ctx_t;

/** Most options a request's packet struct records (RIOT's CONFIG_NANOCOAP_NOPTS_MAX). */
#define FEMTO_COAP_NOPTS_MAX    (16)

/** One recorded option: its number and the offset of its header byte from the CoAP header. */
typedef struct {
    uint16_t opt_num;
    uint16_t offset;
} femto_coap_optpos_t;

/**
 * The packet `bpf_coap_ctx_t.pkt` points at: RIOT's `coap_pkt_t` as a container on a 32-bit board
 * sees it (addresses as 32-bit fields), 84 bytes, writable. The CoAP helpers keep it up to date;
 * a container normally only reads `payload_p`/`payload_len` of the request. RIOT's examples
 * declare the first five fields themselves as `bpf_coap_pkt_t`: that is the same layout.
 */
typedef struct {
    uint32_t hdr_p;         /**< address of the raw packet (CoAP header, = ctx->buf) */
    uint32_t token_p;       /**< address of the token */
    uint32_t payload_p;     /**< address of the payload */
    uint16_t payload_len;   /**< length of the payload (room left while building a response) */
    uint16_t options_len;   /**< number of entries used in options[] */
    femto_coap_optpos_t options[FEMTO_COAP_NOPTS_MAX];
    uint32_t observe_value; /**< gcoap's observe value */
} femto_coap_pkt_t;

/** Thread switch (scheduler) hook: RIOT's { previous, next } thread ids, 16 bytes, read-only. */
typedef struct {
    uint64_t previous;      /**< pid of the thread that ran (0: none) */
    uint64_t next;          /**< pid of the thread that runs next (0: idle/none) */
} femto_sched_ctx_t;

/** Flow message hook: a read-only copy of msg.payload's bytes. 16 bytes. */
typedef struct {
    const uint8_t *data;    /**< the payload bytes */
    uint32_t len;           /**< their number */
    uint32_t pad;
} femto_flow_ctx_t;

/* ------------------------------------------------------------------------------------------ */
/* Helpers (RIOT bpfapi/helpers.h names and signatures; semantics: ARCHITECTURE.md § Helpers) */
/* ------------------------------------------------------------------------------------------ */

/* RIOT's idiom (a helper number cast to a function pointer) is not ISO C: keep -pedantic quiet. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpedantic"

/** Print to the board console: %d %i %u %x %X %c %s %% with widths and `l`, up to 4 values. */
static int (*bpf_printf)(const char *fmt, ...) = (void *) BPF_FUNC_BPF_PRINTF;

/** Copy n bytes; both ranges must be inside the container's memory. Returns dest. */
static void *(*bpf_memcpy)(void *dest, const void *src, size_t n) = (void *) BPF_FUNC_BPF_MEMCPY;

/** Key-value stores (u32 → u32): 0 on success, -1 when the store is full. */
static int (*bpf_store_global)(uint32_t key, uint32_t value) = (void *) BPF_FUNC_BPF_STORE_GLOBAL;
static int (*bpf_store_local)(uint32_t key, uint32_t value) = (void *) BPF_FUNC_BPF_STORE_LOCAL;
/** Fetch into *value (an absent key reads 0): 0 on success, -1 on error. */
static int (*bpf_fetch_global)(uint32_t key, uint32_t *value) = (void *) BPF_FUNC_BPF_FETCH_GLOBAL;
static int (*bpf_fetch_local)(uint32_t key, uint32_t *value) = (void *) BPF_FUNC_BPF_FETCH_LOCAL;

/** Board clock in milliseconds. */
static uint32_t (*bpf_now_ms)(void) = (void *) BPF_FUNC_BPF_NOW_MS;

/** SAUL registry: nth device (0-based) or first device of a class; NULL when none. */
static bpf_saul_reg_t *(*bpf_saul_reg_find_nth)(int pos) = (void *) BPF_FUNC_BPF_SAUL_REG_FIND_NTH;
static bpf_saul_reg_t *(*bpf_saul_reg_find_type)(uint8_t type) = (void *) BPF_FUNC_BPF_SAUL_REG_FIND_TYPE;
/** Read a device into *data: number of dimensions, or negative on error. */
static int (*bpf_saul_reg_read)(bpf_saul_reg_t *dev, phydat_t *data) = (void *) BPF_FUNC_BPF_SAUL_REG_READ;
/** Write *data to an actuator: number of dimensions used, or negative (community extension). */
static int (*bpf_saul_reg_write)(bpf_saul_reg_t *dev, const phydat_t *data) = (void *) BPF_FUNC_BPF_SAUL_REG_WRITE;

/** CoAP response building (gcoap/nanocoap semantics on the hook's packet and PDU buffer). */
static void (*bpf_gcoap_resp_init)(bpf_coap_ctx_t *ctx, unsigned resp_code) = (void *) BPF_FUNC_BPF_GCOAP_RESP_INIT;
static ssize_t (*bpf_coap_opt_finish)(bpf_coap_ctx_t *ctx, unsigned opt) = (void *) BPF_FUNC_BPF_COAP_OPT_FINISH;
static void (*bpf_coap_add_format)(bpf_coap_ctx_t *ctx, uint32_t format) = (void *) BPF_FUNC_BPF_COAP_ADD_FORMAT;
static uint8_t *(*bpf_coap_get_pdu)(bpf_coap_ctx_t *ctx) = (void *) BPF_FUNC_BPF_COAP_GET_PDU;

/** RIOT fmt: fixed-point / decimal text into out (no NUL written); returns the length. */
static size_t (*bpf_fmt_s16_dfp)(char *out, int16_t val, int fp_digits) = (void *) BPF_FUNC_BPF_FMT_S16_DFP;
static size_t (*bpf_fmt_u32_dec)(char *out, uint32_t val) = (void *) BPF_FUNC_BPF_FMT_U32_DEC;

/** ztimer: board clock in µs; sleep until *last_wakeup + period (µs) and update *last_wakeup. */
static uint32_t (*bpf_ztimer_now)(void) = (void *) BPF_FUNC_BPF_ZTIMER_NOW;
static void (*bpf_ztimer_periodic_wakeup)(uint32_t *last_wakeup, uint32_t period) = (void *) BPF_FUNC_BPF_ZTIMER_PERIODIC_WAKEUP;

#pragma clang diagnostic pop

/* ------------------------------------------------------------------------------------------ */
/* Layout checks (ARCHITECTURE.md § Helpers, § Hooks and contexts)                            */
/* ------------------------------------------------------------------------------------------ */

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wc11-extensions"
_Static_assert(sizeof(void *) == 8, "eBPF pointers are 64-bit");
_Static_assert(sizeof(int64_t) == 8 && sizeof(uint32_t) == 4 && sizeof(uint16_t) == 2, "fixed-width types");

_Static_assert(sizeof(phydat_t) == 8, "phydat_t is 8 bytes");
_Static_assert(offsetof(phydat_t, val) == 0, "phydat_t.val at 0");
_Static_assert(offsetof(phydat_t, unit) == 6, "phydat_t.unit at 6");
_Static_assert(offsetof(phydat_t, scale) == 7, "phydat_t.scale at 7");

_Static_assert(sizeof(femto_sensor_ctx_t) == 16, "sensor context is 16 bytes");
_Static_assert(offsetof(femto_sensor_ctx_t, device) == 0, "sensor.device at 0");
_Static_assert(offsetof(femto_sensor_ctx_t, type) == 4, "sensor.type at 4");
_Static_assert(offsetof(femto_sensor_ctx_t, sample) == 8, "sensor.sample at 8");

_Static_assert(sizeof(femto_timer_ctx_t) == 16, "timer context is 16 bytes");
_Static_assert(offsetof(femto_timer_ctx_t, now_us) == 0, "timer.now_us at 0");
_Static_assert(offsetof(femto_timer_ctx_t, period_ms) == 8, "timer.period_ms at 8");
_Static_assert(offsetof(femto_timer_ctx_t, tick) == 12, "timer.tick at 12");

_Static_assert(sizeof(bpf_coap_ctx_t) == 24, "coap context is 24 bytes");
_Static_assert(offsetof(bpf_coap_ctx_t, pkt) == 0, "coap.pkt at 0");
_Static_assert(offsetof(bpf_coap_ctx_t, buf) == 8, "coap.buf at 8");
_Static_assert(offsetof(bpf_coap_ctx_t, buf_len) == 16, "coap.buf_len at 16");

_Static_assert(sizeof(femto_coap_pkt_t) == 84, "coap packet is 84 bytes");
_Static_assert(offsetof(femto_coap_pkt_t, token_p) == 4, "pkt.token_p at 4");
_Static_assert(offsetof(femto_coap_pkt_t, payload_p) == 8, "pkt.payload_p at 8");
_Static_assert(offsetof(femto_coap_pkt_t, payload_len) == 12, "pkt.payload_len at 12");
_Static_assert(offsetof(femto_coap_pkt_t, options_len) == 14, "pkt.options_len at 14");
_Static_assert(offsetof(femto_coap_pkt_t, options) == 16, "pkt.options at 16");
_Static_assert(offsetof(femto_coap_pkt_t, observe_value) == 80, "pkt.observe_value at 80");

_Static_assert(sizeof(femto_sched_ctx_t) == 16, "thread switch context is 16 bytes");
_Static_assert(offsetof(femto_sched_ctx_t, next) == 8, "sched.next at 8");

_Static_assert(sizeof(femto_flow_ctx_t) == 16, "flow context is 16 bytes");
_Static_assert(offsetof(femto_flow_ctx_t, data) == 0, "flow.data at 0");
_Static_assert(offsetof(femto_flow_ctx_t, len) == 8, "flow.len at 8");
#pragma clang diagnostic pop

#ifdef __cplusplus
}
#endif

#endif /* FEMTO_H */

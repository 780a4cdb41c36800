/**
 * Board profiles (ARCHITECTURE.md § Boards and the cost model): the real hardware an emulated board
 * stands for. Each lists the CPU, clock, RAM, the container slots, the RAM budget for container
 * instances, the SAUL devices the real board registers, and the cost-model column used to estimate
 * run times.
 *
 * Where the numbers come from:
 *  - nrf52840dk: Nordic nRF52840 DK (Arm Cortex-M4F, 64 MHz, 256 KiB RAM). SAUL devices as RIOT
 *    registers them through saul_gpio (boards/common/nrf52xxxdk/include/gpio_params.h: "LED 1"…"LED 4"
 *    as SAUL_ACT_SWITCH, "Button 1"…"Button 4" as SAUL_SENSE_BTN) and the on-chip temperature
 *    sensor (periph/temperature of the nRF5x TEMP peripheral: °C, 0.25 °C resolution, read as
 *    UNIT_TEMP_C with scale −2).
 *  - esp32-wroom-32: Espressif ESP32-WROOM-32 (Xtensa LX6, clocked at 64 MHz in the paper's runs,
 *    520 KiB SRAM). RIOT's esp32-wroom-32 board defines one user button (BOOT on GPIO0) and no
 *    LED; the ESP32's internal temperature sensor is not registered with SAUL by RIOT.
 *  - gd32vf103: Sipeed Longan Nano (GigaDevice GD32VF103CBT6, RISC-V RV32IMAC, 64 MHz as in the
 *    paper's runs (108 MHz max), 32 KiB RAM). RIOT's board defines the three channels of its RGB LED
 *    (LED0 red PC13, LED1 green PA1, LED2 blue PA2) as on/off switches; the board has no user
 *    button (BOOT0 and RESET only) and no SAUL sensor.
 *  - native: RIOT's native port (a Linux process). RIOT registers no SAUL device there; to make the
 *    profile useful out of the box it carries two *simulated* devices (a temperature sensor and an
 *    LED), flagged `simulated`. Its cost column is the host interpreter figure (see cost-model.ts).
 *
 * Slots: RIOT's suit_femtocontainer example reserves 2 RAM storage slots of 2048 B (`.ram.0`,
 * `.ram.1`) for images; the MCU profiles keep that. `native` has 8 × 4096 B (our choice: a host has
 * room, and the simulator is used to try several containers at once).
 *
 * RAM budget: one container instance costs about 624 B in RIOT (512 B stack + ~112 B of VM state
 * and bookkeeping), plus its .data (and 512 B per extra stack frame with local calls). The budget
 * for instances is our choice per board, a fraction of free RAM after RIOT, its network stack and
 * SUIT: 16 KiB on the nRF52840 (256 KiB), 32 KiB on the ESP32, 4 KiB on the Longan Nano (32 KiB
 * total: room for ~6 small instances), 64 KiB on native.
 */
import type { SaulDeviceSpec } from './saul';
import { SAUL, UNIT } from './saul';
import { constant, sine } from './sources';

export type CostColumn = 'cortex-m4' | 'esp32' | 'riscv' | 'native';

export interface BoardProfile {
  name: string;
  title: string;
  arch: string;
  cpu: string;
  clockHz: number;
  ramBytes: number;
  slots: { count: number; size: number };
  /** Bytes available for container instances. */
  containerRamBytes: number;
  costColumn: CostColumn;
  /** Fresh device specs each call (sources are stateful). */
  devices(): SaulDeviceSpec[];
}

/** RIOT's per-instance cost: 512 B stack + VM state (ARCHITECTURE.md § Boards and the cost model). */
export const INSTANCE_RAM = 624;
export const INSTANCE_STACK = 512;

const GPIO_PARAMS = 'boards/common/nrf52xxxdk/include/gpio_params.h';

export const PROFILES: Readonly<Record<string, BoardProfile>> = {
  nrf52840dk: {
    name: 'nrf52840dk',
    title: 'Nordic nRF52840 DK',
    arch: 'armv7e-m',
    cpu: 'Arm Cortex-M4F (nRF52840)',
    clockHz: 64_000_000,
    ramBytes: 256 * 1024,
    slots: { count: 2, size: 2048 },
    containerRamBytes: 16 * 1024,
    costColumn: 'cortex-m4',
    devices: () => [
      ...[1, 2, 3, 4].map((i): SaulDeviceSpec => ({ name: `LED ${i}`, type: SAUL.ACT_SWITCH, unit: UNIT.BOOL, origin: GPIO_PARAMS })),
      ...[1, 2, 3, 4].map((i): SaulDeviceSpec => ({ name: `Button ${i}`, type: SAUL.SENSE_BTN, unit: UNIT.BOOL, origin: GPIO_PARAMS })),
      { name: 'NRF_TEMP', type: SAUL.SENSE_TEMP, unit: UNIT.TEMP_C, scale: -2, source: constant(22.25), periodMs: 1000, origin: 'cpu/nrf5x_common: on-chip TEMP peripheral' },
    ],
  },
  'esp32-wroom-32': {
    name: 'esp32-wroom-32',
    title: 'Espressif ESP32-WROOM-32',
    arch: 'xtensa-lx6',
    cpu: 'Xtensa LX6 (ESP32), 64 MHz as in the paper',
    clockHz: 64_000_000,
    ramBytes: 520 * 1024,
    slots: { count: 2, size: 2048 },
    containerRamBytes: 32 * 1024,
    costColumn: 'esp32',
    devices: () => [
      { name: 'BOOT', type: SAUL.SENSE_BTN, unit: UNIT.BOOL, origin: 'boards/esp32-wroom-32: BUTTON0 on GPIO0' },
    ],
  },
  gd32vf103: {
    name: 'gd32vf103',
    title: 'Sipeed Longan Nano (GD32VF103)',
    arch: 'rv32imac',
    cpu: 'RISC-V Bumblebee core (GD32VF103), 64 MHz as in the paper',
    clockHz: 64_000_000,
    ramBytes: 32 * 1024,
    slots: { count: 2, size: 2048 },
    containerRamBytes: 4 * 1024,
    costColumn: 'riscv',
    devices: () => ['red', 'green', 'blue'].map((c, i): SaulDeviceSpec => ({
      name: `LED${i} (${c})`, type: SAUL.ACT_SWITCH, unit: UNIT.BOOL, origin: 'boards/sipeed-longan-nano: RGB LED channel',
    })),
  },
  native: {
    name: 'native',
    title: 'RIOT native (host process)',
    arch: 'host',
    cpu: 'host CPU',
    clockHz: 0,
    ramBytes: 0,
    slots: { count: 8, size: 4096 },
    containerRamBytes: 64 * 1024,
    costColumn: 'native',
    devices: () => [
      { name: 'sim temperature', type: SAUL.SENSE_TEMP, unit: UNIT.TEMP_C, scale: -2, source: sine({ offset: 21, amplitude: 3, periodMs: 60_000 }), periodMs: 1000, simulated: true },
      { name: 'sim LED', type: SAUL.ACT_SWITCH, unit: UNIT.BOOL, simulated: true },
    ],
  },
};

export const PROFILE_NAMES = Object.keys(PROFILES);

export function getProfile(name: string): BoardProfile {
  const p = Object.hasOwn(PROFILES, name) ? PROFILES[name] : undefined;
  if (!p) throw new RangeError(`unknown board profile "${name}" (known: ${PROFILE_NAMES.join(', ')})`);
  return p;
}

/**
 * The kinds of simulated SAUL device a femto-board node can add (its "Simulated devices" list):
 * the SAUL class, unit and scale of each. Pure data, so the editor's Try panel (lib/try) lays out
 * the same devices in the page as the board does at run time (lib/node-support/board-config).
 */
import { SAUL, UNIT } from './saul';

export const DEVICE_KINDS: Readonly<Record<string, { type: number; unit: number; scale: number }>> = {
  temperature: { type: SAUL.SENSE_TEMP, unit: UNIT.TEMP_C, scale: -2 },
  humidity: { type: SAUL.SENSE_HUM, unit: UNIT.PERCENT, scale: -2 },
  light: { type: SAUL.SENSE_LIGHT, unit: UNIT.LUX, scale: 0 },
  pressure: { type: SAUL.SENSE_PRESS, unit: UNIT.PA, scale: 0 },
  button: { type: SAUL.SENSE_BTN, unit: UNIT.BOOL, scale: 0 },
  led: { type: SAUL.ACT_SWITCH, unit: UNIT.BOOL, scale: 0 },
  switch: { type: SAUL.ACT_SWITCH, unit: UNIT.BOOL, scale: 0 },
  dimmer: { type: SAUL.ACT_DIMMER, unit: UNIT.PERCENT, scale: 0 },
};

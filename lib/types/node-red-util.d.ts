/**
 * Types for the part of @node-red/util (which ships none) that lib/ uses: Node-RED's message
 * utilities, the functions RED.util gives nodes inside the runtime.
 */
declare module '@node-red/util' {
  export const util: {
    /** A deep copy of a message, as Node-RED makes when it sends one message to several wires. */
    cloneMessage<T>(msg: T): T;
    /** `payload.a[0]`, `msg["a b"]`: a property of a message by its path. */
    getMessageProperty(msg: object, expr: string): unknown;
    /** Set a property by its path; `createMissing` creates the objects on the way. */
    setMessageProperty(msg: object, prop: string, value: unknown, createMissing?: boolean): boolean;
    /** A typed input's value: str, num, json, bin, re, date, msg, flow, global, env, jsonata… */
    evaluateNodeProperty(value: string, type: string, node: unknown, msg: object | undefined): unknown;
  };
}

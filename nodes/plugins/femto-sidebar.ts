/**
 * Runtime half of the editor's "femto" sidebar plugin. The tab itself lives in the editor
 * (femto-sidebar.html beside this file); its data comes from the femto nodes' admin endpoint
 * GET femto/state and the comms topic femto/state (lib/node-support/registry.ts). This part only
 * registers the plugin with the runtime, so it is listed with the package (Manage palette, GET
 * /plugins) and can be looked up by type.
 */

interface PluginRED {
  plugins: { registerPlugin(id: string, definition: { type: string; [k: string]: unknown }): void };
}

export = function femtoSidebarPlugin(RED: PluginRED): void {
  RED.plugins.registerPlugin('femto-sidebar', {
    type: 'femto-sidebar',
    // No settings are exported to the editor; the sidebar reads femto/state.
  });
};

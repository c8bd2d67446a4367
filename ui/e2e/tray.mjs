// The app's tray icon as a desktop panel sees it: the StatusNotifierItem the app exports on the session
// bus, its dbusmenu (labels, check states) and clicks on its items, through `gdbus`.
import { execFileSync } from "node:child_process";

const ITEM = "/org/ayatana/NotificationItem/tray_icon_tray_app_main";

function gdbus(dest, path, method, ...args) {
  return execFileSync("gdbus", ["call", "--session", "--dest", dest, "--object-path", path, "--method", method, "--", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
}

/** The bus name exporting the tray menu and the menu's layout, or null when there is none. */
export function findTray() {
  const names = gdbus("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames").match(/':1\.\d+'/g) ?? [];
  for (const quoted of names) {
    const name = quoted.slice(1, -1);
    try {
      const layout = gdbus(name, `${ITEM}/Menu`, "com.canonical.dbusmenu.GetLayout", "0", "-1", "@as []");
      return { name, layout };
    } catch {
      // Not this connection.
    }
  }
  return null;
}

/** The menu's items: label, id, and check state where it has one. */
export function trayItems() {
  const tray = findTray();
  if (!tray) throw new Error("no tray icon on the session bus");
  return [...tray.layout.matchAll(/\((\d+), \{([^}]*)\}/g)]
    .map(([, id, props]) => ({
      id: Number(id),
      label: props.match(/'label': <'([^']*)'>/)?.[1],
      checked: props.match(/'toggle-state': <(\d)>/)?.[1] === "1",
    }))
    .filter((item) => item.label);
}

/** Clicks the item labelled `label`, as a panel does. */
export function clickTray(label) {
  const tray = findTray();
  const item = trayItems().find((i) => i.label === label);
  if (!tray || !item) throw new Error(`no tray item "${label}"`);
  gdbus(tray.name, `${ITEM}/Menu`, "com.canonical.dbusmenu.Event", String(item.id), "clicked", "<0>", "uint32 0");
}

/** The icon file the tray shows now (a new file each time the icon changes). */
export function trayIcon() {
  const tray = findTray();
  if (!tray) return null;
  return gdbus(tray.name, ITEM, "org.freedesktop.DBus.Properties.Get", "org.kde.StatusNotifierItem", "IconName").match(/'([^']*)'/)?.[1] ?? null;
}

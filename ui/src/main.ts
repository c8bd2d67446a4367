import { mount } from "svelte";
import App from "./App.svelte";
import { painted } from "./lib/api";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("no #app element");
const app = mount(App, { target });
// Two frames later the first paint is on screen.
requestAnimationFrame(() => requestAnimationFrame(() => void painted()));
export default app;

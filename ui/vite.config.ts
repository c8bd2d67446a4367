import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

// The desktop app loads the built files (ui/dist) or, while developing, this dev server.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "safari15", outDir: "dist", emptyOutDir: true },
  test: { include: ["src/**/*.test.ts"] },
});

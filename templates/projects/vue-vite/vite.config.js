import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

// In development Vite serves the UI and forwards API calls to `npm run dev:api` (port 3000);
// in production `npm start` serves dist/ and the API from one Node process.
export default defineConfig({
  plugins: [vue()],
  server: {
    proxy: {
      '/api': 'http://localhost:3000',
      '/healthz': 'http://localhost:3000',
    },
  },
});

import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

// `vite-ssg build` pre-renders every route to HTML in dist/; `npm start` serves dist/ and
// the API from one Node process. In development, API calls go to `npm run dev:api` (:3000).
export default defineConfig({
  plugins: [vue()],
  ssgOptions: { dirStyle: 'nested' },
  server: {
    proxy: {
      '/api': 'http://localhost:3000',
      '/healthz': 'http://localhost:3000',
    },
  },
});

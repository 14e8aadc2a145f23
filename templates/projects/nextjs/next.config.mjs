/**
 * `next build` exports a static site to out/ (jamstack: no Next server in production) and
 * `npm start` serves out/ and the API from one Node process. `next dev` instead forwards API
 * calls to `npm run dev:api` (:3000): rewrites exist only in development.
 * @type {import('next').NextConfig}
 */
const config =
  process.env.NODE_ENV === 'development'
    ? { rewrites: async () => [{ source: '/api/:path*', destination: 'http://localhost:3000/api/:path*' }] }
    : { output: 'export' };

export default config;

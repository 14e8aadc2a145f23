/**
 * `next build` exports a static site to out/ (jamstack: no Next server in production);
 * `npm start` serves out/ and the API from one Node process. In development, `next dev`
 * forwards API calls to `npm run dev:api` (:3000).
 * @type {import('next').NextConfig}
 */
const config = {
  output: 'export',
  ...(process.env.NODE_ENV === 'development' && {
    rewrites: async () => [{ source: '/api/:path*', destination: 'http://localhost:3000/api/:path*' }],
  }),
};

export default config;

import { buildApp } from './build.js';

export default async function globalSetup(): Promise<void> {
  await buildApp();
}

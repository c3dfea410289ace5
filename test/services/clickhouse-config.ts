/**
 * The two XML files a ClickHouse 18.16 server needs, written into its temp dir. Everything the
 * server writes (data, tmp, logs) stays under that dir; it listens on 127.0.0.1 only and opens no
 * interserver port (18.16 opens one only when `interserver_http_port` is set).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClickHouseLayout {
  dir: string;
  configFile: string;
  usersFile: string;
  logDir: string;
  serverLog: string;
  errorLog: string;
}

export function clickHouseLayout(dir: string): ClickHouseLayout {
  const logDir = join(dir, 'log');
  return {
    dir,
    configFile: join(dir, 'config.xml'),
    usersFile: join(dir, 'users.xml'),
    logDir,
    serverLog: join(logDir, 'clickhouse-server.log'),
    errorLog: join(logDir, 'clickhouse-server.err.log'),
  };
}

export function writeClickHouseConfig(layout: ClickHouseLayout, httpPort: number, tcpPort: number): void {
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'log']) mkdirSync(join(layout.dir, sub), { recursive: true });
  const d = layout.dir;
  writeFileSync(
    layout.configFile,
    `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>${layout.serverLog}</log>
    <errorlog>${layout.errorLog}</errorlog>
    <size>100M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <max_connections>256</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>64</max_concurrent_queries>
  <!-- Small caches: several test servers and the pipeline share a 24 GiB, 2-core box. -->
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>${d}/data/</path>
  <tmp_path>${d}/tmp/</tmp_path>
  <user_files_path>${d}/user_files/</user_files_path>
  <format_schema_path>${d}/format_schemas/</format_schema_path>
  <users_config>${layout.usersFile}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <!-- Fixed zone so DateTime columns mean the same on every machine. -->
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
`,
  );
  writeFileSync(
    layout.usersFile,
    `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
        <ip>::1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`,
  );
}
